"""One local AWS for the project's own tests (fidelity, rotation function), started once per session (about 3 s).

Every check talks to it through boto3 only, as the suite does; the local AWS enforces IAM,
so the default client acts as the administrator user LocalAWS bootstraps.
"""
from __future__ import annotations

import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Iterator

import pytest

from localaws.service import LocalAWS
from tests.support.own_local_aws import PRELOADED

# A custom resource whose provider never answers fails a test in two minutes, not the suite's ten.
os.environ.setdefault("LOCALAWS_CUSTOM_RESOURCE_TIMEOUT", "120")


@pytest.fixture(scope="session")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAWS]:
    aws = LocalAWS(tmp_path_factory.mktemp("localaws")).start()
    try:
        yield aws
    finally:
        aws.stop()
    off_model = aws.violations()  # every answer of the session's calls, against AWS's model
    assert not off_model, "the local AWS answered unlike AWS's model:\n" + "\n".join(
        f"  {v['service']} {v['member']}: {v['problem']}" for v in off_model)


_PRELOADED_PROCESS = pytest.StashKey[subprocess.Popen]()


def _start_preloaded(folder: Path) -> tuple[subprocess.Popen, Path, Path]:
    from localaws.preloaded import start_preloaded

    socket_path, log = folder / "socket", folder / "preloaded.log"
    return start_preloaded(socket_path, log), socket_path, log


@pytest.hookimpl(trylast=True)  # after pytest's tmpdir plugin, whose folder it uses
def pytest_configure(config: pytest.Config) -> None:
    """With pytest-xdist, one preloaded local AWS for the whole session, started before the workers: they inherit
    LOCALAWS_PRELOADED, so every run of theirs (the session's own local AWS, the self-tests' runs) forks its server
    from it instead of importing moto again. Self-tests that watch a run's own processes, or run a clone of the
    project, take it out of their run's environment."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None) or os.environ.get(PRELOADED):
        return
    process, socket_path, _ = _start_preloaded(config._tmp_path_factory.mktemp("preloaded"))  # type: ignore[attr-defined]
    config.stash[_PRELOADED_PROCESS] = process
    os.environ[PRELOADED] = str(socket_path)  # while it does not serve yet, runs launch their own


def pytest_unconfigure(config: pytest.Config) -> None:
    process = config.stash.get(_PRELOADED_PROCESS, None)
    if process is not None:
        process.kill()
        process.wait()
        os.environ.pop(PRELOADED, None)


@pytest.fixture(scope="session")
def preloaded_local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The socket of a process that forks local AWS servers with moto already imported (localaws/preloaded.py):
    runs given LOCALAWS_PRELOADED=<it> start theirs in a fraction of a second of CPU instead of two. The
    session's (pytest_configure) where there is one, else one of this process's own."""
    if os.environ.get(PRELOADED):
        yield os.environ[PRELOADED]
        return
    # While it does not serve, runs launch their own (localaws/service.py).
    yield from _serving("the preloaded local AWS", *_start_preloaded(tmp_path_factory.mktemp("preloaded")))


@pytest.fixture(scope="session")
def warm_checkov(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The socket of a checkov that imported itself once (suite/controls/warm_checkov.py): runs given
    SMDEMO_WARM_CHECKOV=<it> fork their scans from it, in a second of CPU instead of five."""
    from suite.controls.static_scan import start_warm_checkov

    folder = tmp_path_factory.mktemp("warm-checkov")
    socket_path, log = folder / "socket", folder / "warm-checkov.log"
    # While it does not serve, runs start checkov themselves (suite/controls/static_scan.py).
    yield from _serving("the warm checkov", start_warm_checkov(socket_path, log), socket_path, log)


def _serving(what: str, process: subprocess.Popen, socket_path: Path, log: Path) -> Iterator[str]:
    """`socket_path`, once `process` serves there (or it is given up on); at the end the process is ended."""
    deadline = time.monotonic() + 60  # its import: seconds; on a loaded machine, more (the first runs wait for it)
    while not socket_path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield str(socket_path)
    finally:
        ended = process.poll()
        process.kill()
        process.wait()
        if ended is not None or not socket_path.exists():  # the runs were slower, not wrong: said, not failed
            warnings.warn(f"{what} never served (exit {ended}); its log {log}:\n"
                          f"{log.read_text(errors='replace')[-2000:] if log.exists() else ''}")


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: only when it is installed
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """`--dist loadfile`: each file on one worker, and all the phases on one (tests/support/parallel_runs.py)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from tests.support.parallel_runs import PhasesTogether

    return PhasesTogether(config, log)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("smdemo").addoption(
        "--snapshot-update", action="store_true",
        help="fidelity tests, live only: record AWS's answers into tests/fidelity/snapshots/")
