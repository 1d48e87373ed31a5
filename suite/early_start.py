"""The local AWS starts while the checks that need no AWS run.

Its server spends seconds importing moto before it serves. When a run begins with phase checks that need
no AWS (the Template phase) and then needs the local AWS, its process is launched as the checks begin, on
pytest's main thread (the server dies with the thread that started it), and the `aws` fixture adopts
it: it is already serving, or nearly, when the first deployed check needs it. A launched server nobody
adopted (the run stopped first) is stopped at the session's end.
"""
from __future__ import annotations

import os

import pytest

from localaws.service import LocalAWS
from suite.preflight import environment_problem
from suite.report.phases import PHASES, mode_of, phase_of

LAUNCHED_KEY = pytest.StashKey[LocalAWS]()


def needs_local_aws(item: pytest.Item) -> bool:
    return "aws" in getattr(item, "fixturenames", ()) and mode_of(item) == "offline"


def reuses_or_keeps(config: pytest.Config) -> bool:
    """A kept local AWS is used (--local-aws), or this run's is kept (--keep-stack, started detached):
    not launched here."""
    return bool(config.getoption("--local-aws", None) or os.environ.get("SMDEMO_LOCAL_AWS")
                or config.getoption("--keep-stack", False))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """After the collection and the preflight: launch the local AWS if a check that needs it comes later."""
    config = session.config
    items = session.items
    first = next((number for number, item in enumerate(items) if needs_local_aws(item)), 0)
    if (not first or config.option.collectonly or environment_problem(config) or reuses_or_keeps(config)
            or hasattr(config, "workerinput")):  # a pytest-xdist worker: it runs some of the items only
        return
    if not all(phase_of(item.nodeid) in PHASES for item in items[:first]):  # only checks of seconds come first
        return
    state_dir = config._tmp_path_factory.mktemp("localaws")  # type: ignore[attr-defined]  # tmp_path_factory's
    config.stash[LAUNCHED_KEY] = LocalAWS(state_dir).launch()


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
