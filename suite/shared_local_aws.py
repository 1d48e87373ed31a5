"""`--accounts N`: one local AWS for every account of the run, started once by pytest-xdist's controller.

moto is multi-account: one server keeps each account's resources apart and tells a request's account by the
access key it is signed with. The controller launches the server before xdist starts its workers, from its main
thread, so the server dies with the run however it ends (localaws/processes.py: a Ctrl-C, a SIGKILL). While the
workers import and collect, the controller awaits the server and makes each account's administrator (before IAM
is enforced: moto's account header), then writes what the workers need to `accounts.json` in the server's state
folder (the administrators' keys: readable by its owner only). Each worker's `aws` fixture waits for that file
(suite/targets.py `shared_offline_target`); a worker never starts or stops the server. The controller stops it
when the run ends, after every worker has torn its targets down.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from suite.multi_target import is_worker, targets_of

LOCAL_KEY = pytest.StashKey[Any]()  # the controller's local AWS (localaws.service.LocalAWS)
PROBLEM_KEY = pytest.StashKey[str]()  # why the controller could not launch it: each target is NOT RUN for it
SHARED_INPUT = "smdemo_shared_local_aws"
ACCOUNTS_FILE = "accounts.json"  # {"admins": {account: [key id, secret]}, "pid": N} or {"problem": "..."}
READY_TIMEOUT = 180.0  # seconds a worker waits for the controller's server: moto imports in seconds, when idle


def wanted(config: pytest.Config) -> bool:
    """An --accounts run's controller."""
    return not is_worker(config) and bool(config.getoption("--accounts")) and bool(targets_of(config))


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which starts the workers
def pytest_sessionstart(session: pytest.Session) -> None:
    """Launch the server: it imports moto while xdist starts the workers."""
    config = session.config
    if not wanted(config):
        return
    from localaws.service import LocalAWS
    from suite.targets import EnvironmentProblem, offline_preflight

    state = Path(config._tmp_path_factory.mktemp("localaws-accounts"))  # type: ignore[attr-defined]
    try:
        offline_preflight(state.parent)
    except EnvironmentProblem as problem:  # said by each target's worker: NOT RUN, the board names why
        config.stash[PROBLEM_KEY] = str(problem)
        return
    accounts = tuple(spec.account for spec in targets_of(config) if spec.account)
    config.stash[LOCAL_KEY] = LocalAWS(state, accounts=accounts).launch()


def pytest_configure_node(node: Any) -> None:
    """Where the server serves, for each worker (its administrators' keys come later, in accounts.json)."""
    config = node.config
    local = config.stash.get(LOCAL_KEY, None)
    if local is not None:
        node.workerinput[SHARED_INPUT] = {"state_dir": str(local.state_dir), "region": local.region,
                                          "port": local.port, "endpoint_url": local.endpoint_url,
                                          "pid": local.process.pid,
                                          "targets_at_once": config.option.numprocesses or 1}
    elif PROBLEM_KEY in config.stash:
        node.workerinput[SHARED_INPUT] = {"problem": config.stash[PROBLEM_KEY]}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's loop, while the workers import and collect
def pytest_runtestloop(session: pytest.Session) -> None:
    """Await the server, make each account's administrator, and hand their keys to the workers."""
    local = session.config.stash.get(LOCAL_KEY, None)
    if local is None or session.config.option.collectonly:
        return
    from localaws.service import LocalAWSError
    from suite.redaction import REGISTRY

    path = local.state_dir / ACCOUNTS_FILE
    try:
        local.start()
    except LocalAWSError as failed:
        _write(path, {"problem": f"offline: {failed}"})
        return
    REGISTRY.register([key.secret_access_key for key in local.admins.values()])
    _write(path, {"pid": local.process.pid,
                  "admins": {account: [key.access_key_id, key.secret_access_key]
                             for account, key in local.admins.items()}})


def _write(path: Path, content: dict[str, Any]) -> None:
    """Written whole, then renamed: a worker never reads half of it."""
    staging = path.with_suffix(".tmp")
    staging.touch(mode=0o600)
    staging.write_text(json.dumps(content))
    os.replace(staging, path)


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run is over, every worker's teardown too: the server and everything it started stop."""
    local = config.stash.get(LOCAL_KEY, None)
    if local is not None:
        local.stop()


def shared_of(config: pytest.Config) -> dict[str, Any] | None:
    """In a worker of an --accounts run: where the controller's local AWS serves (or why there is none)."""
    return getattr(config, "workerinput", {}).get(SHARED_INPUT)


def accounts_of(shared: dict[str, Any], timeout: float = READY_TIMEOUT) -> dict[str, Any]:
    """The controller's word once its server serves: {"admins": ..., "pid": ...} or {"problem": ...}."""
    path = Path(shared["state_dir"]) / ACCOUNTS_FILE
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            return {"problem": f"offline: the local AWS of this run did not serve within {timeout:.0f} s "
                               f"(see {Path(shared['state_dir']) / 'localaws.log'})"}
        time.sleep(0.1)
    answer: dict[str, Any] = json.loads(path.read_text())
    return answer
