"""Ways to break the workshop, each the way one check guards against.

A fault edits a copy of the workshop folder (`workshop/`): the template through YAML, the rotation
function by appending overrides of its step functions (the handler looks them up at call
time, so the last definition wins).
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from localaws.ext.lambda_runtime_lifecycle import blocked
from suite.controls.template import load_template

BLOCKED_RUNTIME = blocked("create-block")[-1]  # the newest one past its date (AWS moves the dates)


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: str  # what a workshop author would have got wrong
    apply: Callable[[Path], None]
    caught_by: tuple[str, ...]  # the checks that must then not pass
    # About how many seconds of a timeout the broken workshop makes its run wait out (AWS's own, a Lambda
    # function's Timeout, or the suite's offline one): such runs start at once, beside the pool of the others
    # (tests/selftest/test_checks_have_teeth.py), so that their waits overlap the other runs' work.
    waits: float = 0.0


# libyaml's emitter: the same text as PyYAML's pure-Python safe_dump, in a tenth of the CPU (with the template read
# as the suite reads it, a quarter of a second a fault less, a hundred faults applied in a test run).
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def edit_template(*edits: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(workshop: Path) -> None:
        path = workshop / "template.yaml"
        template = load_template(path)
        for edit in edits:
            edit(template)
        path.write_text(yaml.dump(template, Dumper=_DUMPER, sort_keys=False))
    return apply


def append_to_rotation_function(code: str) -> Callable[[Path], None]:
    def apply(workshop: Path) -> None:
        path = workshop / "rotation" / "rotation_function.py"
        path.write_text(path.read_text() + "\n\n# --- injected fault ---\n" + textwrap.dedent(code))
    return apply


def edit_workshop_file(relative: str, old: str, new: str) -> Callable[[Path], None]:
    """Replace `old` by `new` in the workshop's file `relative` (e.g. "app/web_app.py")."""
    def apply(workshop: Path) -> None:
        path = workshop / relative
        text = path.read_text()
        assert old in text, f"fault does not apply: {old!r} not in {relative}"
        path.write_text(text.replace(old, new))
    return apply


def edit_docker_file(name: str, old: str, new: str) -> Callable[[Path], None]:
    return edit_workshop_file(f"docker/{name}", old, new)


def edit_lab_sql(old: str, new: str) -> Callable[[Path], None]:
    def apply(workshop: Path) -> None:
        path = workshop / "labs" / "demouser.sql"
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new))
    return apply


@dataclass(frozen=True)
class Variant:
    name: str
    changes: str  # what the workshop author did differently, which AWS accepts
    apply: Callable[[Path], None]
    phases: tuple[str, ...]  # the Template phase, and the deployed phase that uses the change
    checks: tuple[str, ...] = ()  # the checks to run, as -k names them (all of the phases' when empty)
