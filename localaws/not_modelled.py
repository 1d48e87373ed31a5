"""What the stacks deployed to the local AWS asked for that it does not model, written down in the
state directory (`not-modelled.jsonl`) as localaws/ext/cfn_not_modelled.py finds it, and read by
the suite (LocalAWS.not_modelled) for the report and the verdict. Once per stack and setting.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

FILE_NAME = "not-modelled.jsonl"
log = logging.getLogger("localaws.not_modelled")
_seen: set[tuple[str, str]] = set()
_lock = threading.Lock()


def record(stack: str, settings: list[str]) -> None:
    """Log and write down each setting not yet written for this stack."""
    state = os.environ.get("LOCALAWS_STATE_DIR")
    with _lock:
        new = [setting for setting in settings if (stack, setting) not in _seen]
        _seen.update((stack, setting) for setting in new)
        for setting in new:
            log.warning("not modelled offline (stack %s): %s", stack, setting)
        if new and state:
            with open(Path(state) / FILE_NAME, "a") as out:
                out.writelines(json.dumps({"stack": stack, "setting": setting}) + "\n" for setting in new)


def recorded(state_dir: Path) -> list[dict[str, str]]:
    """Every entry written in this state directory: {stack, setting}, in the order they came."""
    try:
        lines = (state_dir / FILE_NAME).read_text().splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]
