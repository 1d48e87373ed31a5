"""The local AWS starts while pytest collects the checks.

Its server spends seconds importing moto before it serves. When the run is the offline verification (every
path given is a phase's folder or in one, and `-m` selects offline checks), its process is launched before
the collection, on pytest's main thread (the server dies with the thread that started it), and the `aws`
fixture adopts it: it is already serving, or nearly, when the first deployed check needs it. If the run then
needs none (no offline deployed check collected, or the environment is not ready), it is stopped before the
checks begin; one nobody adopted (the run stopped first) is stopped at the session's end.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from _pytest.mark.expression import Expression  # what -m compiles (pytest pinned in requirements.txt)

from localaws.service import LocalAWS
from suite.controls import policy
from suite.preflight import environment_problem
from suite.report.phases import DEPLOYED_PHASES, PHASES, mode_of, phase_of

LAUNCHED_KEY = pytest.StashKey[LocalAWS]()
READS_IAM_DEFINITION = "Audit"  # the phase whose least-privilege control expands actions with parliament


def needs_local_aws(item: pytest.Item) -> bool:
    return "aws" in getattr(item, "fixturenames", ()) and mode_of(item) == "offline"


def reuses_or_keeps(config: pytest.Config) -> bool:
    """A kept local AWS is used (--local-aws), or this run's is kept (--keep-stack, started detached):
    not launched here."""
    return bool(config.getoption("--local-aws", None) or os.environ.get("SMDEMO_LOCAL_AWS")
                or config.getoption("--keep-stack", False))


def _only_offline(mark: str, /, **kwargs: str | int | bool | None) -> bool:
    """A check marked `offline` alone, as `-m` sees it."""
    return mark == "offline"


def verifies_offline(config: pytest.Config) -> bool:
    """The run is the offline verification of deployed phases: `-m` selects offline checks, every path given
    is a phase's folder or in one (the project's own tests, which may take minutes, are not among them), and
    one is a deployed phase's."""
    try:
        offline = Expression.compile(config.option.markexpr or "").evaluate(_only_offline)
    except SyntaxError:
        return False
    paths = [Path(config.invocation_params.dir, arg.split("::", 1)[0]).resolve() for arg in config.args]

    def in_phase(path: Path, phases: tuple[str, ...]) -> bool:
        folders = [Path(config.rootpath, PHASES[phase]).resolve() for phase in phases]
        return any(path == folder or folder in path.parents for folder in folders)

    return (offline and all(in_phase(path, tuple(PHASES)) for path in paths)
            and any(in_phase(path, DEPLOYED_PHASES) for path in paths))


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Before the collection: launch the local AWS if the run verifies phases offline."""
    config = session.config
    if (config.option.collectonly or reuses_or_keeps(config) or hasattr(config, "workerinput")
            or getattr(config.option, "numprocesses", None)  # pytest-xdist: a worker starts its own
            or config.getoption("--targets", None) or config.getoption("--accounts", None)
            or not verifies_offline(config)):
        return
    state_dir = config._tmp_path_factory.mktemp("localaws")  # type: ignore[attr-defined]  # tmp_path_factory's
    try:
        config.stash[LAUNCHED_KEY] = LocalAWS(state_dir).launch()
    except Exception:  # noqa: BLE001 - a machine that cannot launch it: the preflight and the fixture say why
        return


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """After the collection and the preflight: a launched local AWS the checks do not need is stopped."""
    launched = session.config.stash.get(LAUNCHED_KEY, None)
    if launched is not None and (environment_problem(session.config)
                                 or not any(needs_local_aws(item) for item in session.items)):
        adopt(session.config)
        launched.stop()
    elif launched is not None and any(phase_of(item.nodeid) == READS_IAM_DEFINITION for item in session.items):
        # What its policy checks read at their first use, read while this process mostly waits for the server (a
        # run without them, most of the self-tests' runs, would spend half a second of CPU on it for nothing).
        threading.Thread(target=policy.read_ahead, name="read-ahead", daemon=True).start()


def adopt(config: pytest.Config) -> LocalAWS | None:
    """The local AWS launched early, now the `aws` fixture's to start and stop; None if there is none."""
    launched = config.stash.get(LAUNCHED_KEY, None)
    if launched is not None:
        del config.stash[LAUNCHED_KEY]
    return launched


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    launched = adopt(session.config)
    if launched is not None:
        launched.stop()
