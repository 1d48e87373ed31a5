"""A Ctrl-C that comes inside a finalizer or a context manager's __enter__/__exit__ is delivered again a moment
later, not raised there: raised in a finalizer it is lost, and raised between a lock's acquire and its with-block
it leaves the lock held, so the run's next request through that connection pool waits forever (a run hung this
way after two Ctrl-Cs, its main thread in urllib3's `_put_conn`)."""
from __future__ import annotations

import signal
import sys

import pytest

from suite.interrupts import DEFER_AT_MOST, Interrupts


@pytest.fixture()
def interrupts() -> Interrupts:
    interrupts = Interrupts()
    interrupts.delivered_again = []  # type: ignore[attr-defined]
    interrupts.deliver_again = interrupts.delivered_again.append  # type: ignore[attr-defined]
    return interrupts


class Lock:
    def __init__(self, interrupts: Interrupts) -> None:
        self.interrupts = interrupts

    def __enter__(self) -> None:  # the lock is acquired here; the signal comes before the with-block
        self.interrupts.handle(signal.SIGINT, sys._getframe())

    def __exit__(self, *exc: object) -> None:
        pass


class Finalized:
    def __init__(self, interrupts: Interrupts) -> None:
        self.interrupts = interrupts

    def __del__(self) -> None:  # garbage collection runs it: the signal comes while it does
        self.interrupts.handle(signal.SIGINT, sys._getframe())


def test_a_signal_in_enter_is_delivered_again_and_then_raised_once(interrupts):
    Lock(interrupts).__enter__()  # nothing raised there
    assert interrupts.delivered_again == [signal.SIGINT] and interrupts.received == ["SIGINT"]
    with pytest.raises(KeyboardInterrupt, match="SIGINT: the run stops here"):
        interrupts.handle(signal.SIGINT, sys._getframe())  # delivered again, at a safe place
    assert interrupts.received == ["SIGINT"] and interrupts.stages == ["the checks"]  # one signal, not two


def test_a_signal_in_a_finalizer_is_delivered_again(interrupts):
    Finalized(interrupts)  # collected at once
    assert interrupts.delivered_again == [signal.SIGINT] and interrupts.deferred


def test_a_signal_anywhere_else_is_raised_at_once(interrupts):
    with pytest.raises(KeyboardInterrupt):
        interrupts.handle(signal.SIGINT, sys._getframe())
    assert interrupts.delivered_again == []


def test_a_signal_that_keeps_coming_at_unsafe_places_is_raised_in_the_end(interrupts):
    lock = Lock(interrupts)
    for _ in range(DEFER_AT_MOST):
        lock.__enter__()
    with pytest.raises(KeyboardInterrupt):
        lock.__enter__()
    assert len(interrupts.delivered_again) == DEFER_AT_MOST
