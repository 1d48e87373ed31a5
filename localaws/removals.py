"""Folders the local AWS is done with, removed in the background.

A sandbox's root holds a copy of /etc and what the host installed, a database its data files: a thousand
files and more, which take a second or two to remove on a busy disk. The call that ended them (StopTask,
TerminateInstances, DeleteDBInstance, a stack's deletion) does not wait for that, as AWS answers before the
instance, task or database is gone; the local AWS waits for every removal before it stops
(`wait_for_removals`, from localaws/ext's stop_all), so nothing of a run outlives it.
"""
from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

_REMOVALS: list[threading.Thread] = []
_LOCK = threading.Lock()


def remove_later(folder: Path) -> None:
    """`folder` renamed aside at once (its path is free again) and removed in the background."""
    aside = folder.with_name(f".removing-{folder.name}-{uuid.uuid4().hex[:8]}")
    try:
        folder.rename(aside)
    except FileNotFoundError:
        return
    removal = threading.Thread(target=shutil.rmtree, args=(aside,), kwargs={"ignore_errors": True},
                               name=f"remove-{folder.name}", daemon=True)
    removal.start()
    with _LOCK:
        _REMOVALS[:] = [*(pending for pending in _REMOVALS if pending.is_alive()), removal]


def wait_for_removals() -> None:
    with _LOCK:
        pending = list(_REMOVALS)
        _REMOVALS.clear()
    for removal in pending:
        removal.join()
