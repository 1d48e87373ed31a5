"""When the local AWS's own machinery fails (a sandbox that cannot start, a runtime that never came
up), the workshop is not to blame: the failure is written down here, in the state directory, and
the suite reads it (LocalAWS.machinery_failure) to stop the run as `NOT RUN: environment: ...`.

What a workshop's own code does wrong (a handler that raises, an import its package lacks) is
never recorded here: AWS would fail it too.
"""
from __future__ import annotations

import json
import threading
from pathlib import Path

from localaws.state import state_dir as localaws_state_dir

FILE_NAME = "machinery-failures.jsonl"
_lock = threading.Lock()


def _path(state_dir: Path | None = None) -> Path:
    return (state_dir or localaws_state_dir()) / FILE_NAME


def record(part: str, cause: str, last_lines: str = "") -> str:
    """Write down that `part` of the local AWS failed because of `cause`; returns the sentence."""
    sentence = f"{part}: {cause}"
    with _lock, open(_path(), "a") as out:
        out.write(json.dumps({"failure": sentence, "last_lines": last_lines[-2000:]}) + "\n")
    return sentence


def failures(state_dir: Path) -> list[dict[str, str]]:
    try:
        lines = _path(state_dir).read_text().splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]
