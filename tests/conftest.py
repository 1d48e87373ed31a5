"""One local AWS for the project's own tests (fidelity, rotation function), started once per session (about 3 s).

Every check talks to it through boto3 only, as the suite does; the local AWS enforces IAM,
so the default client acts as the administrator user LocalAWS bootstraps.
"""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from localaws.service import LocalAWS

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


@pytest.fixture(scope="session")
def preloaded_local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The socket of a process that forks local AWS servers with moto already imported (localaws/preloaded.py):
    runs given LOCALAWS_PRELOADED=<it> start theirs in a fraction of a second of CPU instead of two."""
    from localaws.preloaded import start_preloaded

    socket_path = tmp_path_factory.mktemp("preloaded") / "socket"
    process = start_preloaded(socket_path)
    try:
        yield str(socket_path)
    finally:
        process.kill()
        process.wait()


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
