"""suite/heap.py: garbage is collected (its finalizers run) before what is alive is frozen; never frozen while
collections still find garbage."""
from __future__ import annotations

import gc
from typing import Iterator

import pytest

from suite import heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.disable()  # only the collections the test makes: none by the interpreter in between
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()  # the rest of the session's objects back in the collector's scans (as before suite/heap.py)


class Cycle:
    finalized: list[str] = []

    def __init__(self, name: str, leaves: int = 0) -> None:
        """`leaves`: how many cycles in a row its finalizer and theirs leave behind."""
        self.name, self.leaves, self.me = name, leaves, self

    def __del__(self) -> None:
        Cycle.finalized.append(self.name)
        if self.leaves:
            Cycle(f"{self.name}+", self.leaves - 1)


def test_garbage_is_collected_and_what_lives_is_frozen(unfrozen: None) -> None:
    Cycle.finalized.clear()
    alive = Cycle("alive")
    Cycle("garbage")
    assert heap.settle()
    assert Cycle.finalized == ["garbage"]
    assert gc.get_freeze_count() > 0 and not any(obj is alive for obj in gc.get_objects())


def test_not_frozen_while_finalizers_leave_garbage(unfrozen: None) -> None:
    Cycle.finalized.clear()
    Cycle("first", leaves=heap.ROUNDS)
    frozen = gc.get_freeze_count()
    assert not heap.settle()
    assert gc.get_freeze_count() == frozen
    gc.collect()  # the last one
