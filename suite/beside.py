"""Work a later phase needs, started beside the phases before it when nothing they do touches it.

The phases run one after the other, as the guide goes, and mostly wait: on the local AWS or AWS, on a rotation, on
a caching client's back-off. Work that a later phase needs and that no earlier phase reads or changes (Fargate's
image, built and pushed on the bastion; lab B's lesson, on a secret of its own) starts in a thread of its own at the
first check of the phases it may run beside, and the later phase's checks take what it made. Where it cannot start
early (the run has no such earlier check, or the work is not independent of them: `applies` says), a check's
fixture runs it when first asked for, as before.

Its steps run in order, each once; a step that failed fails every check that asks for it or a later one, with the
step's own failure. At the run's end the thread is told to stop (`stopping`) and awaited before the fixture's own
teardown undoes what it started.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from suite.account_changes import read_only_requested
from suite.report.phases import phase_of


class Stopped(Exception):
    """The run ended (its teardown, an interrupt) while the work ran beside the phases."""


@dataclass
class Beside:
    """Steps (name -> function, in order), run in a thread of its own from `start()` on, else when first asked."""

    name: str
    steps: dict[str, Callable[[], Any]]
    results: dict[str, Any] = field(default_factory=dict)
    failure: BaseException | None = None
    thread: threading.Thread | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # one runner of the steps at a time

    def _run_until(self, last: str) -> None:
        names = list(self.steps)
        with self._lock:
            for step in names[:names.index(last) + 1]:
                if self.failure is not None or step in self.results:
                    continue
                if self.stopping.is_set():
                    self.failure = Stopped(f"the run ended before {self.name}'s step {step!r}")
                    return
                try:
                    self.results[step] = self.steps[step]()
                except (Exception, pytest.fail.Exception, pytest.skip.Exception) as error:  # the asking check's
                    self.failure = error

    def start(self) -> None:
        """Every step, in a thread of its own, from now on (once)."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._run_until, args=(list(self.steps)[-1],), name=self.name,
                                           daemon=True)
            self.thread.start()

    def result(self, step: str) -> Any:
        """The step's result, once it has run (here, if no thread runs the steps); its failure re-raised."""
        if self.thread is not None:
            while step not in self.results and self.failure is None and self.thread.is_alive():
                self.thread.join(0.1)
        if step not in self.results and self.failure is None:
            self._run_until(step)
        if step not in self.results:
            assert self.failure is not None
            raise self.failure
        return self.results[step]

    def await_end(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def stop(self, timeout: float) -> None:
        """Tell the steps to stop, and await the thread (at most `timeout` seconds: it is a daemon)."""
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout)


@dataclass(frozen=True)
class Start:
    """When to start a fixture's Beside: at the first check of `phases` that a check of `later` (the phase that
    needs it) will follow, if `applies(request)` (asked then: e.g. the stack has what makes it independent)."""

    fixture: str  # the session fixture whose value is the Beside
    phases: tuple[str, ...]
    later: str
    applies: Callable[[pytest.FixtureRequest], bool]


STARTS: list[Start] = []  # filled by the modules that define such fixtures (suite/fargate.py, suite/app_lesson.py)
STARTED_KEY = pytest.StashKey[list[Beside]]()
WANTED_KEY = pytest.StashKey[dict[str, bool]]()


def _wanted(session: pytest.Session, start: Start) -> bool:
    """The run has checks of the later phase that use the fixture and will run (collected, not left out as
    changing the account)."""
    wanted = session.config.stash.setdefault(WANTED_KEY, {})
    if start.fixture not in wanted:
        wanted[start.fixture] = not read_only_requested(session.config) and any(
            phase_of(item.nodeid) == start.later and start.fixture in getattr(item, "fixturenames", ())
            and not item.get_closest_marker("skip") for item in session.items)
    return wanted[start.fixture]


def await_all(config: pytest.Config) -> None:
    """Until all work started beside the phases has ended: before a step nothing may run beside (the database
    stopped)."""
    for beside in config.stash.get(STARTED_KEY, []):
        beside.await_end()


@pytest.fixture(autouse=True)
def started_beside(request: pytest.FixtureRequest) -> None:
    """At a check of a phase some work may run beside: that work starts in its own thread. Whatever stops it here
    (no deployment, no bastion) is for the checks that need it to report."""
    phase = phase_of(request.node.nodeid)
    for start in STARTS:
        if phase not in start.phases or "workshop" not in request.fixturenames or not _wanted(request.session, start):
            continue
        try:
            if start.applies(request):
                beside = request.getfixturevalue(start.fixture)
                if beside.thread is None:
                    request.config.stash.setdefault(STARTED_KEY, []).append(beside)
                    beside.start()
        except (Exception, pytest.fail.Exception, pytest.skip.Exception):  # noqa: BLE001 - reported by its checks
            continue
