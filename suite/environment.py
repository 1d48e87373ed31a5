"""What the machine or the account lacks to run the checks: one sentence that says what to do.

Raised by the preflights (suite/targets.py) and turned into the verdict "NOT RUN: environment: ..." by
suite/preflight.py; a module of its own so that neither needs the other to say it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

MIN_FREE_BYTES = 512 * 1024 * 1024  # a local AWS run: databases, sandboxes, the image's layers


class EnvironmentProblem(Exception):
    """What stops the run before the workshop is tried, in one sentence that says what to do."""


def require_free_disk(path: Path, minimum: int = MIN_FREE_BYTES) -> None:
    path.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(path).free
    if free < minimum:
        raise EnvironmentProblem(f"only {free // 2**20} MB free where the run's files go ({path}); the local AWS "
                                 f"needs at least {minimum // 2**20} MB: free some space, or pass --basetemp "
                                 f"on a larger disk")
