"""Ctrl-C, SIGTERM and SIGHUP end a run the same way: the checks stop, the cleanup runs.

SIGTERM (a cancelled CI job, `timeout`, `docker stop`) and SIGHUP (a closed terminal) become
the KeyboardInterrupt a Ctrl-C is, so pytest tears the fixtures down (the stack is deleted,
the local AWS stopped) and prints its summary and the verdict. Once the cleanup has begun
(after that first interrupt, or because the checks are over and the session is finishing), a
signal does not cut it short (an interrupted finalizer would skip the ones after it): it is
reported and the cleanup goes on. A second one during the cleanup gives it up; offline, every
process of the run still dies with it (localaws/processes.py); live, what is left carries the
run's tags for the sweeper.
Python runs a signal handler between any two bytecodes, finalizers included, where a raised
KeyboardInterrupt is swallowed as "unraisable"; an interrupt pytest never saw is raised again
at the next check boundary, and a run that finished anyway exits as interrupted (2).
Two places are worse than others to raise in: a finalizer (the interrupt is lost) and a context manager's
`__enter__`/`__exit__` (a lock just acquired is never released: urllib3's connection pool, say, and the next
request waits for it forever). A signal that comes there is delivered again a moment later, where the run is
then (at most DEFER_AT_MOST times).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from types import FrameType
from typing import Callable

import pytest

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
DEFER_FOR = 0.02  # seconds until a signal that came at an unsafe place is delivered again
DEFER_AT_MOST = 100  # times (2 s): then it is raised wherever the run is


def unsafe_place(frame: FrameType | None) -> bool:
    """Raising at `frame` would break the run: it is in a finalizer, or in a context manager's __enter__/__exit__
    (between a lock's acquire and the with-block that releases it)."""
    if frame is not None and frame.f_code.co_name in ("__enter__", "__exit__"):
        return True
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _deliver_again(number: int) -> None:
    timer = threading.Timer(DEFER_FOR, os.kill, (os.getpid(), number))
    timer.daemon = True
    timer.start()


class Interrupts:
    def __init__(self) -> None:
        self.received: list[str] = []
        self.stages: list[str] = []  # for each signal received: what it interrupted
        self.seen_by_pytest = False
        self.session: pytest.Session | None = None
        self.cleaning = False
        self.during_cleanup = 0
        self.gave_up = False  # a signal during the cleanup cut it short
        self.finished = False
        self.verdict_given = False  # the report plugin computed the verdict: from then on nothing is interrupted
        self.raised = False
        self.deferred: str | None = None  # the message of a signal to be delivered again
        self.deferrals = 0
        self.deliver_again: Callable[[int], None] = _deliver_again

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers belong to the main thread (pytest runs there)
        for number in SIGNALS:
            signal.signal(number, self.handle)

    def handle(self, number: int, frame: FrameType | None) -> None:
        if self.deferred is None:
            message = self._received(signal.Signals(number).name)
            if message is None:
                return
        else:  # a signal that came at an unsafe place, delivered again
            message, self.deferred = self.deferred, None
        if unsafe_place(frame) and self.deferrals < DEFER_AT_MOST:
            self.deferrals += 1
            self.deferred = message
            self.deliver_again(number)
            return
        raise KeyboardInterrupt(message)

    def _received(self, name: str) -> str | None:
        """A signal's bookkeeping: the KeyboardInterrupt's message, or None when it raises none."""
        if self.verdict_given and not self.finished:  # the checks and the cleanup are over, the reports being written
            sys.stderr.write(f"\nsmdemo: {name} after the verdict was given: the run had ended, nothing was "
                             f"interrupted; the verdict and its exit status stand\n")
            return None
        self.received.append(name)
        if self.finished:
            self.stages.append("after the run")
            return None  # pytest is done and the process is exiting: nothing left to interrupt
        if not self.cleaning:
            self.stages.append("the checks")
            self.cleaning = self.raised = True
            return f"{name}: the run stops here; cleaning up"
        self.during_cleanup += 1
        self.stages.append("the teardown" if self.during_cleanup == 1 else "the teardown again")
        if self.during_cleanup == 1:
            sys.stderr.write(f"\nsmdemo: {name}: still cleaning up (the stack, the local AWS); one more "
                             f"gives the cleanup up\n")
            return None
        if not self._fixtures_left():  # nothing left to give up: raised now, it would only cut the summary short
            sys.stderr.write(f"\nsmdemo: {name}: the cleanup is over; the run is ending\n")
            return None
        self.gave_up = True
        return f"{name}: cleanup given up"

    def _fixtures_left(self) -> bool:
        """Fixtures still to tear down (the stack, the local AWS), or no telling: pytest's setup state (pytest
        pinned in requirements.txt) is empty once the session's fixtures are torn down."""
        state = getattr(self.session, "_setupstate", None)
        return state is None or bool(getattr(state, "stack", True))

    def said(self) -> str | None:
        """How the run was interrupted, for its verdict: None if it was not."""
        if not self.received:
            return None
        what = "; ".join(f"{name} during {stage}" for name, stage in zip(self.received, self.stages))
        if self.gave_up:
            return f"{what}: the cleanup was given up (offline every process went with it; live, the sweeper " \
                   f"finds what is left by the run's tags)"
        if self.during_cleanup:
            return f"{what}: the cleanup went on to its end"
        return what

    @property
    def lost(self) -> bool:
        """A signal raised its KeyboardInterrupt, and pytest never saw it."""
        return self.raised and not self.seen_by_pytest


INTERRUPTS = Interrupts()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    INTERRUPTS.install()


def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    INTERRUPTS.seen_by_pytest = True


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    if nextitem is None:
        INTERRUPTS.cleaning = True  # after the last check, its teardown tears the session fixtures down
    return (yield)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if INTERRUPTS.lost:
        raise KeyboardInterrupt(f"{INTERRUPTS.received[0]}: the run stops here; cleaning up")


def pytest_sessionstart(session: pytest.Session) -> None:
    INTERRUPTS.session = session


def _exit_as_interrupted() -> None:
    session = INTERRUPTS.session
    if INTERRUPTS.received and session is not None and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.INTERRUPTED


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> object:
    INTERRUPTS.cleaning = True  # the session fixtures are torn down in here: the stack, the local AWS
    try:
        return (yield)
    finally:
        _exit_as_interrupted()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _exit_as_interrupted()  # a signal during the summary counts too: pytest returns the status after this
    # The handlers stay: a signal now, while the interpreter exits, would only print a traceback.
    INTERRUPTS.finished = True
