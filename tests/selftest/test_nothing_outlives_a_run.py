"""Whatever ends an offline run, nothing of it is left 10 s later: no process, no listening
socket, no file outside the run's own directory.

Each case starts a real offline run (three phases, a few checks of each) in a session of its own, as a terminal
or CI starts it, waits for a stage (the local AWS starting, the stack deploying, the first
rotation, the Fargate phase, the audit phase, the teardown, where the run waits for the signals:
tests/support/pause_at_teardown.py), and signals it there: Ctrl-C
(SIGINT to its process group), twice in a row, SIGTERM, SIGHUP, SIGKILL. Every process of the
run is recorded while it runs (psutil), with its listening sockets; afterwards none may be
alive nor listening, and the run's TMPDIR may hold nothing but its pytest directory. The
cases run a few at a time, as the broken-workshop runs do.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import psutil
import pytest
from tests.support.own_local_aws import without_the_sessions_local_aws
from tests.support.pause_at_teardown import PAUSE_ENV

ROOT = Path(__file__).resolve().parents[2]
SETTLE = 10.0  # seconds the run's processes have to go after it ends
LISTENERS_EVERY = 0.5  # seconds between two readings of a run's listening sockets
POLL = 0.05  # seconds between two readings of a run's processes
# A run that never reaches its stage fails the case; on a loaded machine (two pytest-xdist workers, each with
# runs of its own) the teardown comes more than 2 minutes in: the deadline is only a safety net.
STAGE_TIMEOUT = 600.0


@dataclass
class Watched:
    """A run as it goes: its output so far, and every process and listener it ever had."""

    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    processes: dict[int, float] = field(default_factory=dict)  # pid -> create time
    listeners: dict[tuple[str, int], float] = field(default_factory=dict)  # (address, port) -> last seen (epoch)
    seen: list[psutil.Process] = field(default_factory=list)  # its processes at the last record (one walk of /proc)
    pause_file: Path | None = None  # created when the run waits at its teardown for the signals

    def text(self) -> str:
        return "".join(self.output)

    def descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            return []

    def record(self) -> None:
        """Its processes and the machine's listeners they hold (read at most every LISTENERS_EVERY seconds: a
        listener lives as long as its server, and a leaked one outlives the run, its process a leftover itself)."""
        self.seen = self.descendants()
        listening, read_at = MACHINE.listeners()
        for child in self.seen:
            try:
                self.processes.setdefault(child.pid, child.create_time())
            except psutil.Error:
                continue
            for address in listening.get(child.pid, ()):
                self.listeners[address] = read_at


class MachineReadings:
    """The machine's listening sockets, read once for all the runs watched at the same time: a reading walks every
    process's file descriptors and the TCP tables (tens of ms on a loaded machine), which each watcher once did for
    itself, once per process of its run, parsing the whole table each time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listening: dict[int, set[tuple[str, int]]] = {}
        self._listening_read = float("-inf")  # monotonic
        self._listening_at = 0.0  # epoch: when the listeners were last seen

    def listeners(self) -> tuple[dict[int, set[tuple[str, int]]], float]:
        """pid -> the TCP addresses it listens on, as the leftover check reads them (this machine's network), and
        when they were read (epoch), at most LISTENERS_EVERY seconds ago."""
        with self._lock:
            if time.monotonic() - self._listening_read >= LISTENERS_EVERY:
                listening: dict[int, set[tuple[str, int]]] = defaultdict(set)
                for connection in psutil.net_connections(kind="tcp"):
                    if connection.status == psutil.CONN_LISTEN and connection.pid is not None:
                        listening[connection.pid].add((connection.laddr.ip, connection.laddr.port))
                self._listening, self._listening_read, self._listening_at = listening, time.monotonic(), time.time()
            return self._listening, self._listening_at


MACHINE = MachineReadings()


def has_process(marker: str) -> Callable[[Watched], bool]:
    return lambda run: any(marker in " ".join(_cmdline(child)) for child in run.seen)  # as just recorded


def printed(*markers: str) -> Callable[[Watched], bool]:
    return lambda run: all(marker in run.text() for marker in markers)


def paused_at_teardown(run: Watched) -> bool:
    """The run has begun its cleanup and waits there for the signals (tests/support/pause_at_teardown.py)."""
    return run.pause_file is not None and run.pause_file.exists()


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


# stage -> (when to signal, the signals, seconds between them)
CASES = {
    "ctrl-c-at-start-up": (has_process("localaws.server_process"), [signal.SIGINT]),
    "ctrl-c-at-deploy": (has_process("mariadbd"), [signal.SIGINT]),
    "ctrl-c-at-rotation": (printed("test_rotation_completes"), [signal.SIGINT]),
    "ctrl-c-at-fargate": (printed("tests/fargate/"), [signal.SIGINT]),
    "ctrl-c-at-audit": (printed("tests/audit/"), [signal.SIGINT]),
    # The last check has passed and its teardown, the session's (the phases', the stack's, the local AWS's), has
    # begun: the run waits there for the signals (a second of work, over before a watcher that polls sees it begin).
    "ctrl-c-at-teardown": (paused_at_teardown, [signal.SIGINT]),
    "ctrl-c-twice": (printed("tests/fargate/"), [signal.SIGINT, signal.SIGINT]),
    "ctrl-c-twice-at-teardown": (paused_at_teardown, [signal.SIGINT, signal.SIGINT]),
    "sigterm-at-rotation": (printed("test_rotation_completes"), [signal.SIGTERM]),
    "sigterm-at-teardown": (paused_at_teardown, [signal.SIGTERM]),  # a run that printed READY and exited 2 once
    "sighup-at-deploy": (has_process("mariadbd"), [signal.SIGHUP]),
    "sigkill-at-fargate": (printed("tests/fargate/"), [signal.SIGKILL]),
    # --accounts: the controller's one local AWS, the workers' deployments in it (suite/shared_local_aws.py).
    "accounts-ctrl-c-at-deploy": (has_process("mariadbd"), [signal.SIGINT]),
}
EXTRA_ARGS = {"accounts-ctrl-c-at-deploy": ["--accounts", "2"]}
# A few checks of each phase, enough to reach every stage and start every kind of process (the database, the
# rotation function, the bastion, a task and its image): a whole phase would only take longer to get there.
CHECKS = ("test_credentials_from_secret_read_bookinfo or test_rotation_completes or "
          "test_taskdef_secret_seen_over_the_bastions_ssh_is_the_secret or test_operator_reads_are_recorded")


@dataclass
class Outcome:
    signalled: bool
    returncode: int
    leftover_processes: list[str]
    leftover_listeners: list[tuple[str, int]]
    leftover_files: list[str]
    output: str  # all of it: pytest writes the verdict before its short summary, which can be long

    @property
    def tail(self) -> str:
        return self.output[-3000:]


def interrupted_run(folder: Path, when: Callable[[Watched], bool], signals: list[int], extra: list[str],
                    environ: Mapping[str, str]) -> Outcome:
    """`environ`: read before the run's thread started (pytest changes os.environ meanwhile: PYTEST_CURRENT_TEST)."""
    tmpdir = folder / "tmpdir"
    basetemp = tmpdir / "basetemp"
    tmpdir.mkdir(parents=True)
    env = dict(environ, TMPDIR=str(tmpdir), PYTHONUNBUFFERED="1")
    pause_file = None
    if when is paused_at_teardown:  # outside TMPDIR: not a file the run leaves
        pause_file = folder / "paused-at-teardown"
        env[PAUSE_ENV] = f"{pause_file}:{len(signals)}"
        extra = ["-p", "tests.support.pause_at_teardown", *extra]
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-m", "offline", "tests/rds", "tests/fargate", "tests/audit", "-k", CHECKS,
         "-v", "--setup-show",
         "-p", "no:cacheprovider", f"--basetemp={basetemp}", *extra],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    run = Watched(process, pause_file=pause_file)
    reader = threading.Thread(target=lambda: run.output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    signalled = False
    deadline = time.monotonic() + STAGE_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        run.record()
        if when(run):
            for number, signal_number in enumerate(signals):
                if number:
                    time.sleep(0.3)
                    run.record()
                os.killpg(process.pid, signal_number)
            signalled = True
            break
        time.sleep(POLL)
    while process.poll() is None:
        run.record()
        try:
            process.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline + 300:
                os.killpg(process.pid, signal.SIGKILL)
    reader.join(timeout=5)
    settle_by = time.monotonic() + SETTLE
    alive, listening = _leftovers(run)
    while (alive or listening) and time.monotonic() < settle_by:
        time.sleep(0.2)
        alive, listening = _leftovers(run)
    files = sorted(str(path.relative_to(tmpdir)) for path in tmpdir.iterdir() if path != basetemp)
    return Outcome(signalled, process.returncode, alive, listening, files, run.text())


def _leftovers(run: Watched) -> tuple[list[str], list[tuple[str, int]]]:
    alive = []
    for pid, created in run.processes.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{pid} {' '.join(process.cmdline())[:120]}")
        except psutil.Error:
            continue
    listening = {(c.laddr.ip, c.laddr.port) for c in psutil.net_connections(kind="tcp")
                 if c.status == psutil.CONN_LISTEN and (c.laddr.ip, c.laddr.port) in run.listeners
                 and not _came_after(c.pid, run.listeners[(c.laddr.ip, c.laddr.port)])}
    return alive, sorted(listening)


def _came_after(pid: int | None, last_seen: float) -> bool:
    """The listener's process began after the run's own listener there was last seen: another run's (the
    address was freed, and a local AWS of a run beside this one took it), not a leftover of this run."""
    if pid is None:
        return False
    try:
        return psutil.Process(pid).create_time() > last_seen
    except psutil.Error:
        return False


@pytest.fixture(scope="module")
def interrupted_runs(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Outcome]]]:
    wanted = {item.callspec.id for item in request.session.items
              if item.module is request.module and hasattr(item, "callspec")}
    environ = without_the_sessions_local_aws()  # each run launches its own local AWS, a process of its own tree
    with ThreadPoolExecutor(int(os.environ.get("SMDEMO_SELFTEST_JOBS", "3"))) as pool:
        # The latest stages take longest: started first, the pool stays full to the end. Each run's folder has a
        # short name: its TMPDIR holds the database's unix socket, whose path MariaDB refuses beyond 107 bytes (the
        # longest case's name under a pytest-xdist worker's folder went past it).
        runs = {case: pool.submit(interrupted_run, tmp_path_factory.mktemp("run"), *CASES[case],
                                  EXTRA_ARGS.get(case, []), environ)
                for case in reversed(CASES) if case in wanted}
        try:
            yield runs
        finally:
            for run in runs.values():
                run.cancel()


@pytest.mark.parametrize("case", list(CASES))
def test_nothing_outlives_an_interrupted_run(case: str, interrupted_runs):
    outcome = interrupted_runs[case].result()
    assert outcome.signalled, f"the run never reached the stage of {case}:\n{outcome.tail}"
    assert not outcome.leftover_processes, f"{case}: still running {SETTLE:.0f}s later: {outcome.leftover_processes}"
    assert not outcome.leftover_listeners, f"{case}: still listening: {outcome.leftover_listeners}"
    assert not outcome.leftover_files, f"{case}: files left outside the run's directory: {outcome.leftover_files}"
    if case in EXTRA_ARGS:  # pytest-xdist's controller stops with its workers: the board, not the verdict line
        assert outcome.returncode != 0 and "account-1  NOT READY" in outcome.output, outcome.tail
    elif "sigkill" not in case:  # pytest itself ran its cleanup and said how the run ended
        assert outcome.returncode != 0 and "workshop verdict" in outcome.output, outcome.tail
        verdict = outcome.output.split("workshop verdict: ", 1)[1].split("\n", 1)[0]
        assert verdict.startswith("NOT READY: the run was interrupted (") and "READY: passed" not in verdict, verdict
    if case.endswith("at-teardown"):  # the checks had all passed: the verdict must still say why it is not READY
        first = signal.Signals(CASES[case][1][0]).name
        assert f"the run was interrupted ({first} during the teardown" in outcome.output, outcome.tail


def test_a_listener_begun_after_the_runs_own_was_last_seen_is_another_runs():
    """A freed loopback address taken by a run beside this one is not this run's leftover; one held by a
    process that was there while the run's listener was is."""
    began = psutil.Process().create_time()
    assert _came_after(os.getpid(), began - 1)
    assert not _came_after(os.getpid(), time.time())
    assert not _came_after(None, 0.0)


def test_the_watcher_sees_a_runs_grandchild_and_the_address_it_listens_on(tmp_path):
    """The readings the watchers share find what a run's process started in turn, and its listening socket."""
    ready = tmp_path / "port"
    listener = ("import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
                "open(sys.argv[1], 'w').write(str(s.getsockname()[1])); time.sleep(60)")
    starter = [sys.executable, "-c", "import subprocess, sys; subprocess.run(sys.argv[1:])"]
    run = subprocess.Popen([*starter, *starter, sys.executable, "-c", listener, str(ready)], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(LISTENERS_EVERY)  # a reading taken after it listens
        watched = Watched(run)  # type: ignore[arg-type]  # no output read
        watched.record()
        [grandchild] = [child for child in watched.seen if _cmdline(child)[1:3] == ["-c", listener]]
        assert grandchild.pid in watched.processes
        assert ("127.0.0.1", int(ready.read_text())) in watched.listeners
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
