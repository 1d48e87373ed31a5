"""Many targets at once: `--targets FILE` (live accounts) or `--accounts N` (offline: N accounts of one local AWS).

Each target is a param of the session fixture `target` (which `aws` and `mode` take), so each check runs once
per target, its node id ending in the target's name. pytest-xdist runs them: one worker per target (at most
`--max-parallel`), every check of a target in one worker (`--dist loadgroup`, one group per target), so a
target's session fixtures (its clients, its local AWS account or live session, its temporary folder, its
deployed stack) live in that worker alone. A target whose credentials, region or stack fail is NOT RUN for
itself (suite/preflight.py skips its checks instead of ending the run); the others go on. Each worker sends its
targets' outcomes back (xdist's workeroutput); suite/report/board.py turns them into the board.
Offline, the controller starts the one local AWS every worker uses, an administrator per account, and stops it
(suite/shared_local_aws.py).
Without --targets or --accounts nothing here acts: the single-target run is unchanged.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from suite.target_list import TargetSpec, TargetsFileError, load_targets, offline_accounts

SPECS_KEY = pytest.StashKey[list[TargetSpec]]()
# target name -> what its worker said of it: problem, left_behind, changed, account, region, started, ended
OUTCOMES_KEY = pytest.StashKey[dict[str, dict[str, Any]]]()
WORKER_INPUT = "smdemo_targets"
WORKER_OUTPUT = "smdemo_target_outcomes"
# Self-test only (tests/selftest/test_targets_board.py): these offline accounts get a key the local AWS never issued.
UNUSABLE_ENV = "SMDEMO_SELFTEST_UNUSABLE_ACCOUNTS"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smdemo")
    group.addoption("--targets", default=None, metavar="FILE",
                    help="live: verify many targets at once, one pytest-xdist worker each: a YAML list of targets "
                         "(name, profile or role_arn, region, optionally stack); targets.example.yaml")
    group.addoption("--accounts", type=int, default=None, metavar="N",
                    help="offline: verify N accounts of one local AWS at once, as --targets does live")
    group.addoption("--max-parallel", type=int, default=None, metavar="N",
                    help="with --targets or --accounts: at most N targets at a time (default: all of them)")


def targets_of(config: pytest.Config) -> list[TargetSpec]:
    """The run's targets (none: the ordinary single-target run)."""
    return config.stash.get(SPECS_KEY, [])


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads -n and --dist
def pytest_cmdline_main(config: pytest.Config) -> None:
    path, accounts = config.getoption("--targets"), config.getoption("--accounts")
    if not (path or accounts) or is_worker(config):
        return
    if path and accounts:
        raise pytest.UsageError("--targets (live) and --accounts (offline) are two runs: give one")
    if not config.pluginmanager.hasplugin("xdist"):
        raise pytest.UsageError("--targets and --accounts run on pytest-xdist: install requirements.txt")
    try:
        specs = specs_of(config)
    except TargetsFileError as wrong:
        raise pytest.UsageError(str(wrong)) from None
    most = config.getoption("--max-parallel") or len(specs)
    if most < 1:
        raise pytest.UsageError("--max-parallel takes 1 or more")
    config.option.numprocesses = min(most, len(specs))  # a worker per target
    config.option.dist = "loadgroup"  # every check of one target in one worker


def specs_of(config: pytest.Config) -> list[TargetSpec]:
    path, accounts = config.getoption("--targets"), config.getoption("--accounts")
    if path:
        return load_targets(Path(path))
    if config.getoption("--stack"):
        raise pytest.UsageError("--accounts deploys the workshop in each account: --stack is for one target "
                                "(a targets file names a stack per target)")
    return offline_accounts(accounts, unusable=tuple(filter(None, os.environ.get(UNUSABLE_ENV, "").split(","))))


def pytest_configure(config: pytest.Config) -> None:
    if is_worker(config):
        given = config.workerinput.get(WORKER_INPUT, [])  # type: ignore[attr-defined]
        config.stash[SPECS_KEY] = [TargetSpec(**spec) for spec in given]
        if given:  # a worker parses the command line as typed, without the --dist loadgroup set above
            config.option.loadgroup = True
        config.workeroutput[WORKER_OUTPUT] = {}  # type: ignore[attr-defined]
        return
    path, accounts = config.getoption("--targets"), config.getoption("--accounts")
    if not (path or accounts):
        return
    if accounts and "offline" not in (config.getoption("markexpr") or ""):
        raise pytest.UsageError("--accounts is offline: add -m offline")
    if config.getoption("--keep-stack") or config.getoption("--local-aws"):
        raise pytest.UsageError("--keep-stack and --local-aws are for one target, not --targets / --accounts")
    config.stash[SPECS_KEY] = specs_of(config)
    config.stash[OUTCOMES_KEY] = {}
    if any(spec.stack for spec in config.stash[SPECS_KEY]) and not config.getoption("--allow-changes"):
        config.option.read_only = True  # a target's given stack is verified read-only, as --stack is


def pytest_configure_node(node: Any) -> None:
    """What each worker needs: the targets (offline, where the run's local AWS serves: suite/shared_local_aws.py)."""
    node.workerinput[WORKER_INPUT] = [spec.as_dict() for spec in targets_of(node.config)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    specs = targets_of(metafunc.config)
    if "target" in metafunc.fixturenames and specs:
        metafunc.parametrize("target", specs, ids=[spec.name for spec in specs], scope="session", indirect=True)


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> TargetSpec | None:
    """The target a check runs against (--targets / --accounts), None in the ordinary single-target run."""
    return getattr(request, "param", None)


def target_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    spec = callspec.params.get("target") if callspec else None
    return spec.name if isinstance(spec, TargetSpec) else None


def target_in_nodeid(nodeid: str, names: list[str]) -> str | None:
    """The target a report's node id belongs to (its param id: `[offline-account-1]`, before xdist's `@group`)."""
    head = nodeid.split("@", 1)[0]
    return next((name for name in sorted(names, key=len, reverse=True)
                 if head.endswith(f"-{name}]") or f"-{name}-" in head or head.endswith(f"[{name}]")), None)


def pytest_itemcollected(item: pytest.Item) -> None:
    """Each target's checks in one xdist group: one worker. Without it xdist groups by module, and one worker
    would verify every target's RDS phase after the other. Marked as collected: before any
    pytest_collection_modifyitems, among them the xdist worker's, which names each check's group in its node id."""
    name = target_of(item)
    if name:
        item.add_marker(pytest.mark.xdist_group(name))


@pytest.hookimpl(trylast=True)  # after suite/fixtures.py's phase order, which this keeps within each target
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """One target's checks together, in the targets' order: a worker given two targets deploys each once.
    Here, not in pytest_collection_finish: a worker sends its collection to the controller from there, and the
    controller then names each check to run by its index in that list; a list sorted after it was sent would
    run other targets' checks (each worker would deploy every target, at once, in the same account)."""
    names = [spec.name for spec in targets_of(config)]
    if names:
        items.sort(key=lambda item: names.index(target_of(item) or "") if target_of(item) in names else -1)


def record_outcome(config: pytest.Config, name: str, **facts: Any) -> None:
    """A worker's word on one of its targets (merged: the fixture says what it knows when it knows it)."""
    if not is_worker(config):
        config.stash.setdefault(OUTCOMES_KEY, {}).setdefault(name, {}).update(facts)
        return
    config.workeroutput[WORKER_OUTPUT].setdefault(name, {}).update(facts)  # type: ignore[attr-defined]


def pytest_testnodedown(node: Any, error: object | None) -> None:
    """The controller: each worker's word on its targets (a worker that crashed said nothing: its targets are
    judged by their checks alone)."""
    outcomes = node.config.stash.setdefault(OUTCOMES_KEY, {})
    for name, facts in getattr(node, "workeroutput", {}).get(WORKER_OUTPUT, {}).items():
        outcomes.setdefault(name, {}).update(facts)


def now() -> float:
    return time.time()
