"""Can this machine (offline) or this account (live) run the checks? Asked once, before
anything starts, for each mode the run selected.

A problem with the environment is not a broken workshop: the run stops there with one
message naming what to do, exit status 4 (`ENVIRONMENT_EXIT`), and the verdict
"NOT RUN: environment: ..." in the terminal, the report and JUnit; no phase is blamed.
Offline: the system tools (with the package to install), root, port 22 on loopback, free
disk where the run's files go. Live (asked for explicitly with `-m live`): credentials, a
region that has Secrets Manager, and AWS answering (network and credentials told apart).
A problem only met later (the local AWS not starting) ends the run the same way.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest

from suite.environment import EnvironmentProblem, require_free_disk  # noqa: F401 (the preflight's words)
from suite.report.phases import MODE_PARAM
from suite.targets import live_preflight, offline_preflight

ENVIRONMENT_EXIT = 4
PROBLEM_KEY = pytest.StashKey[str]()
# mode -> what its AWS logged going wrong (the local AWS's log): shown in the terminal and the report
LOCAL_AWS_PROBLEMS_KEY = pytest.StashKey[dict[str, str]]()


def stop_for_environment(config: pytest.Config, problem: str) -> None:
    """Record the problem for the verdict and end the run (pytest still tears down and reports)."""
    config.stash[PROBLEM_KEY] = problem  # the verdict line says it, in the terminal and the report
    pytest.exit("the run stopped: the environment is not ready (the verdict says why)", returncode=ENVIRONMENT_EXIT)


def environment_problem(config: pytest.Config) -> str | None:
    return config.stash.get(PROBLEM_KEY, None)


# mode -> a callable that says why its AWS is gone (the local AWS died), or None while it serves
GONE_KEY = pytest.StashKey[dict[str, Callable[[], str | None]]]()


def watch_target(config: pytest.Config, mode: str, gone: Callable[[], str | None]) -> None:
    config.stash.setdefault(GONE_KEY, {})[mode] = gone


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A check that failed because the AWS it talks to is gone is not the workshop's failure:
    the run stops there, once, with the cause, instead of failing every check after it."""
    if not report.failed or not _config:
        return
    for mode, gone in _config.stash.get(GONE_KEY, {}).items():
        cause = gone()
        if cause:
            stop_for_environment(_config, f"{mode}: {cause}")


_config: pytest.Config | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config


def selected_modes(items: list[pytest.Item]) -> set[str]:
    return {item.callspec.params[MODE_PARAM] for item in items
            if hasattr(item, "callspec") and MODE_PARAM in item.callspec.params}


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly or not session.items:
        return
    # pytest calls this hook from a `finally`: also when Ctrl-C cut the collection short, before `-m` deselected
    # anything (live checks among the items of an offline run). Nothing will run: there is nothing to ask.
    if sys.exc_info()[1] is not None:
        return
    modes = selected_modes(session.items)
    try:
        if "offline" in modes:
            offline_preflight(Path(str(config._tmp_path_factory.getbasetemp())))  # type: ignore[attr-defined]
        if "live" in modes and not config.getoption("--targets", None):  # each target's is its own (suite/fixtures.py)
            live_preflight(config.getoption("--aws-region"))
    except EnvironmentProblem as problem:
        stop_for_environment(config, str(problem))
