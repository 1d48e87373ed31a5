"""The run's long-lived objects, out of the garbage collector's way: once collected, what is alive is frozen
(gc.freeze), so the full collections after it scan only what came since: Python's own as the heap grows,
and the five pytest makes at the end to report unraisable exceptions (a full scan of a heap with botocore's
service models costs about 0.1 s CPU each)."""
from __future__ import annotations

import gc

import pytest

# pytest's own count of collections at the end (_pytest/unraisableexception.py): a finalizer may free more.
ROUNDS = 5


def settle() -> bool:
    """Collect until a collection finds nothing, then freeze what is left, all of it reachable; False (nothing
    frozen) if garbage is still found after ROUNDS."""
    for _ in range(ROUNDS):
        if gc.collect() == 0:
            gc.freeze()
            return True
    return False


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """The imports and the collected checks: they stay to the end."""
    settle()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The checks and their fixtures are done: their garbage is collected here, with the unraisable
    exceptions of its finalizers reported as pytest would; the collections at the end find only what
    comes after."""
    settle()
