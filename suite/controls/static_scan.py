"""checkov, the static scanner workshop authors know, over the workshop's template.

checkov runs from its own virtualenv (`.venv-checkov`, requirements-checkov.txt: it pins a boto3
of its own) with `--skip-download`, and inside a network namespace of its own when the machine
allows one (`unshare -n`), so a scan never reaches the network. A check the workshop does not
meet is either fixed in the template or skipped in the resource's Metadata with a written reason:
```
Metadata:
  checkov:
    skip:
      - id: CKV_AWS_157
        comment: why a workshop does without it
```
"""
from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from suite.background import BackgroundProcess
from suite.environment import EnvironmentProblem

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
# checkov's script is run by its virtualenv's interpreter, not through its `#!` line: a shebang cannot hold a
# path with a space in it (a clone under "/tmp/my clone": "cannot execute: required file not found").
CHECKOV_PYTHON = CHECKOV.parent / "python"
# checkov's temporary folder: in its virtualenv, not the machine's. Its HCL parser (lark) keeps a grammar cache in the
# temporary folder, 240 KB, never removed, that saves 2 s of every scan: made there by scripts/setup.sh
# (suite/controls/checkov_parse_tables.py), read by every scan, and nothing of a run is left in /tmp.
CHECKOV_TEMP = CHECKOV.parent.parent / "tmp"


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str
    name: str
    comment: str = ""  # a skip's written reason
    line: int = 0  # where the resource starts in the template (checkov's file_line_range)

    def __str__(self) -> str:
        at = f" (line {self.line})" if self.line else ""
        skipped = f" (skipped: {self.comment})" if self.comment else ""
        return f"{self.check_id} {self.resource}{at}: {self.name}{skipped}"


@dataclass
class Scan:
    passed: int
    failed: list[Finding]
    skipped: list[Finding]
    version: str


def _without_network() -> list[str]:
    """`unshare -n` when this machine lets us make a network namespace (root, or user namespaces)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


class RunningScan:
    """checkov started over a template in the background (suite/background.py), its answer read by `result()`;
    `stop()` ends a scan nobody read (nothing outlives the run)."""

    def __init__(self, template: Path):
        if not CHECKOV.exists():
            raise FileNotFoundError(f"{CHECKOV} is missing: run scripts/setup.sh (installs requirements-checkov.txt)")
        CHECKOV_TEMP.mkdir(exist_ok=True)
        self.background = BackgroundProcess(
            [*_without_network(), str(CHECKOV_PYTHON), str(CHECKOV), "--file", str(template),
             "--framework", "cloudformation", "--skip-download", "--compact", "--output", "json"],
            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8", "TMPDIR": str(CHECKOV_TEMP)})

    def result(self) -> Scan:
        return _read(self.background.output())

    def stop(self) -> None:
        self.background.stop()


def scan(template: Path) -> Scan:
    return RunningScan(template).result()


def _read(done: subprocess.CompletedProcess) -> Scan:
    try:
        report = json.loads(done.stdout)
    except ValueError:  # checkov did not run: this machine's problem, not the workshop's
        raise EnvironmentProblem(f"checkov ({CHECKOV}) gave no report (exit {done.returncode}): "
                                 f"{done.stderr.strip()[-300:] or 'no output'}; run scripts/setup.sh") from None
    results = report["results"]

    def findings(kind: str) -> list[Finding]:
        return [Finding(r["check_id"], r["resource"], r["check_name"],
                        (r.get("check_result") or {}).get("suppress_comment") or "",
                        (r.get("file_line_range") or [0])[0])
                for r in results.get(kind, [])]

    return Scan(report["summary"]["passed"], findings("failed_checks"), findings("skipped_checks"),
                report["summary"].get("checkov_version", ""))
