"""Session fixtures: the mode (the only place it is known), the deployed workshop.

`aws` is parametrized over the two modes, each param carrying its marker, so `-m offline`,
`-m live` or both select which run; every check takes the same path through these fixtures.
`mode` has the same params for the checks that need no AWS (the Template phase): it starts nothing,
needs no credentials, and the preflight, which reads `aws`'s params only, does not run for it.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Generator, Iterator

import pytest

from suite.account_changes import STOPS_DATABASE, WRITES_OLDWAY_CNF, changes_account, changes_of, read_only_requested
from suite.account_snapshot import CHANGED_KEY, differences, snapshot
from suite.deploy.existing import ExistingStack, StackNotVerifiable
from suite.deploy.stack import DeployError, StackSettings, WorkshopStack
from suite.needs import DEPLOYED_BY_THE_SUITE, SEEDED, SuiteAdditions, of_existing_stack
from suite.attendee.database import DBCredentials, connect, seed_bookinfo
from suite.attendee.mysql_scripts import write_oldway_cnf_from_the_secret
from suite.attendee.session_manager import AttendeeShell, BastionNotReady
from suite.report.phases import DEPLOYED_PHASES, RUN_ORDER, mode_of, phase_of
from suite import early_start
from suite.interrupts import INTERRUPTS
from suite.preflight import LOCAL_AWS_PROBLEMS_KEY, PROBLEM_KEY, stop_for_environment, watch_target
from suite.multi_target import record_outcome
from suite.shared_local_aws import shared_of
from suite.target_list import TargetSpec
from suite.targets import (AwsTarget, EnvironmentProblem, kept_offline_target, live_target, offline_target,
                           shared_offline_target, target_session)
from suite.sweeper import KEPT_PREFIX  # a kept local AWS's state folder: the sweeper finds it by this name
from suite.teardown import LEFT_BEHIND_KEY, leftovers
from suite.workshop import Workshop, read_secret_document
from suite.workshop_folder import NotAWorkshopFolder, point_at, workshop_folder

log = logging.getLogger("workshop.suite")
KEPT_KEY = pytest.StashKey[str]()  # what --keep-stack kept and how to reach it: said at the end of the run


def positive_seconds(text: str) -> float:
    """A number of seconds above zero (not 0, negative, nan or inf)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of seconds above 0")
    return seconds


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smdemo", "workshop verification")
    group.addoption("--keep-stack", action="store_true",
                    help="keep the stack after the run (default: delete); offline the local AWS keeps running too, "
                         "and the run says how to point another run at it (--local-aws DIR --stack smdemo)")
    group.addoption("--stack", default=None, metavar="NAME",
                    help="verify this stack, already deployed from the workshop's template: never created, changed "
                         "by the suite's deploy or deleted (read-only unless --allow-changes)")
    group.addoption("--local-aws", default=None, metavar="DIR",
                    help="offline: the local AWS a --keep-stack run left running (its state folder, as that run "
                         "printed it; default: SMDEMO_LOCAL_AWS) instead of starting one")
    group.addoption("--aws-region", default=None, help="live: region to deploy to (default: the AWS config's)")
    group.addoption("--rotation-timeout", type=positive_seconds, default=None,
                    help="seconds to await a rotation (default: 60 offline, 600 live)")
    group.addoption("--workshop", default=None, metavar="DIR",
                    help="the workshop folder to verify (template.yaml, rotation/, labs/, docker/, app/; "
                         "default: SMDEMO_WORKSHOP_DIR, else this repository's workshop/)")


def pytest_configure(config: pytest.Config) -> None:
    if (config.getoption("--local-aws") or os.environ.get("SMDEMO_LOCAL_AWS")) and not config.getoption("--stack"):
        raise pytest.UsageError("--local-aws (SMDEMO_LOCAL_AWS) verifies the stack a --keep-stack run left there: "
                                "add --stack smdemo")
    if config.getoption("--stack") and config.getoption("--keep-stack"):
        raise pytest.UsageError("--keep-stack has no meaning with --stack: a given stack is never deleted")
    directory = config.getoption("--workshop")
    if directory:
        try:
            point_at(directory)
        except NotAWorkshopFolder as wrong:
            raise pytest.UsageError(str(wrong)) from None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The workshop's order, whatever order the folders were given in: RDS, then Fargate, ..., then audit (which
    looks for what the others did); the template's checks before audit (its tools ran meanwhile: RUN_ORDER); each
    mode's checks together."""
    phases = list(RUN_ORDER)
    modes = ["offline", "live"]

    def rank(item: pytest.Item) -> tuple[int, float]:
        mode = mode_of(item)
        phase = phase_of(item.nodeid)
        if mode is None or phase not in phases:
            return (-1, 0)  # the project's own tests, before any deployment
        if phase in DEPLOYED_PHASES and any(STOPS_DATABASE in what for what in changes_of(item)):
            # The database is stopped once no lab uses it: after the App phase, whose lesson may run beside the
            # phases before it (suite/app_lesson.py).
            return (modes.index(mode), phases.index("App") + 0.5)
        return (modes.index(mode), phases.index(phase))

    items.sort(key=rank)


def pytest_terminal_summary(terminalreporter: object, config: pytest.Config) -> None:
    kept = config.stash.get(KEPT_KEY, None)
    if kept:
        terminalreporter.write_line(kept)  # type: ignore[attr-defined]


MODE_PARAMS = [
    pytest.param("offline", marks=pytest.mark.offline, id="offline"),
    pytest.param("live", marks=pytest.mark.live, id="live"),
]


@pytest.fixture(scope="session", params=MODE_PARAMS)
def mode(request: pytest.FixtureRequest) -> str:
    """The mode of a check that needs no AWS (the Template phase): offline or live, selected by `-m` as
    `aws` is, with nothing started and no credentials asked for (once for all targets of --targets / --accounts:
    it reads the workshop's files, the same for every target)."""
    return request.param


@pytest.fixture(scope="session", params=MODE_PARAMS)
def aws(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        target: TargetSpec | None) -> Iterator[AwsTarget]:
    """The AWS the workshop is deployed to: a real account (live) or the local AWS (offline); with --targets
    or --accounts, the target's (suite/multi_target.py)."""
    if target is not None:
        yield from one_of_many(request, target)
        return
    try:
        kept = request.config.getoption("--local-aws") or os.environ.get("SMDEMO_LOCAL_AWS")
        if request.param == "offline" and kept:
            single = kept_offline_target(Path(kept))
        elif request.param == "offline" and request.config.getoption("--keep-stack"):
            # Outside pytest's temporary folders, which a later run may remove: the next run uses it.
            single = offline_target(Path(tempfile.mkdtemp(prefix=KEPT_PREFIX)), keep=True)
        elif request.param == "offline":
            launched = early_start.adopt(request.config)
            single = offline_target(launched.state_dir if launched else tmp_path_factory.mktemp("localaws"),
                                    launched=launched)
        else:
            single = live_target(request.config.getoption("--aws-region"))
    except EnvironmentProblem as problem:  # once, for the whole run: not each check's failure
        stop_for_environment(request.config, str(problem))
    yield from serving(request, single)


def one_of_many(request: pytest.FixtureRequest, spec: TargetSpec) -> Iterator[AwsTarget]:
    """One target of many: its own clients (its profile, role or account), region and verdict. A target that
    cannot be reached is not run, for itself alone: its checks are skipped with the reason, the others go on."""
    config = request.config
    started = time.time()
    record_outcome(config, spec.name, started=started, region=spec.region or "", account=spec.account or "")
    try:
        if request.param == "live":
            target = live_target(spec.region, target_session(spec.region, spec.profile, spec.role_arn))
        elif spec.account and shared_of(config) is not None:
            target = shared_offline_target(shared_of(config), spec.account, spec.unusable_key)  # type: ignore[arg-type]
        else:
            raise EnvironmentProblem("offline: a targets file names live targets; offline, use --accounts N")
    except EnvironmentProblem as problem:
        record_outcome(config, spec.name, problem=str(problem), ended=time.time())
        pytest.skip(f"not run: environment: {problem}")
    record_outcome(config, spec.name, region=target.region, account=target.account_id)
    try:
        yield from serving(request, target)
    finally:  # what this target's fixtures left in the worker's stash is this target's, not the next one's
        said: dict[str, object] = {name: config.stash.get(key, None) for name, key in (
            ("problem", PROBLEM_KEY), ("left_behind", LEFT_BEHIND_KEY), ("changed", CHANGED_KEY))}
        for key in (PROBLEM_KEY, LEFT_BEHIND_KEY, CHANGED_KEY):
            if key in config.stash:
                del config.stash[key]
        said["not_modelled"] = target.not_modelled()  # read from its state folder, also once it has stopped
        record_outcome(config, spec.name, ended=time.time(), **{name: value for name, value in said.items() if value})


def stop_target_for_environment(request: pytest.FixtureRequest, problem: str) -> None:
    """The run stops for an environment problem; with many targets only this target's checks do."""
    spec = request.getfixturevalue("target")
    if spec is None:
        stop_for_environment(request.config, problem)
    request.config.stash[PROBLEM_KEY] = problem
    pytest.skip(f"not run: environment: {problem}")


def serving(request: pytest.FixtureRequest, target: AwsTarget) -> Iterator[AwsTarget]:
    watch_target(request.config, target.mode, target.cannot_run_checks)
    try:
        yield target
    finally:
        found = target.problems()
        if found:
            request.config.stash.setdefault(LOCAL_AWS_PROBLEMS_KEY, {})[target.mode] = found
        off_model = target.off_model()
        target.close()
        if off_model:  # the local AWS is not what the checks should believe: the run fails, naming it
            described = [f"{v['service']} {v['member']}: {v['problem']}" for v in off_model]
            request.config.stash[PROBLEM_KEY] = "the local AWS answered unlike AWS's model: " + "; ".join(described[:5])
            if not INTERRUPTS.raised:
                pytest.fail("the local AWS answered unlike AWS's model (localaws/ext/response_shapes.py):\n"
                            + "\n".join(f"  {line}" for line in described), pytrace=False)


@pytest.fixture(scope="session")
def workshop(aws: AwsTarget, request: pytest.FixtureRequest) -> Iterator[Workshop]:
    """The workshop stack: deployed by this run (its database seeded), or the one given with --stack (read
    only); its credentials before any rotation captured. A read-only run is watched for changes."""
    spec = request.getfixturevalue("target")
    existing = (spec.stack if spec else None) or request.config.getoption("--stack")
    made = existing_workshop(aws, request, existing) if existing else deployed_workshop(aws, request)
    workshop = next(made)
    try:
        with watched_for_changes(request, workshop):
            yield workshop
    finally:
        aws.bastion.close()  # its sessions end before the stack goes: nothing of the run outlives it
        made.close()


def captured(aws: AwsTarget, request: pytest.FixtureRequest, stack: WorkshopStack | ExistingStack,
             additions: SuiteAdditions) -> Workshop:
    """The workshop as the checks see it, with the credentials mysql.oldway.sh has: the master
    credentials written into a script, host and port from the stack."""
    outputs = stack.outputs
    timeout = request.config.getoption("--rotation-timeout") or aws.timing.rotation_timeout
    current = DBCredentials.from_secret(
        read_secret_document(aws.client("secretsmanager"), outputs["SecretArn"], VersionStage="AWSCURRENT"),
        where=f"secret {outputs['SecretArn']}")
    hardcoded = DBCredentials(outputs["DBEndpointAddress"], int(outputs["DBEndpointPort"]),
                              current.username, current.password, outputs.get("DBName"))
    workshop = Workshop(aws=aws, stack=stack, hardcoded=hardcoded, rotation_timeout=timeout, additions=additions)
    workshop.hardcoded_version = workshop.current_version()
    return workshop


def deployed_workshop(aws: AwsTarget, request: pytest.FixtureRequest) -> Generator[Workshop, None, None]:
    """Deploy the workshop folder as handed out (no key of the suite's, no inbound rule: the checks reach the
    bastion's network through Session Manager), with the artifact bucket and the seeded row; deleted at the
    end unless --keep-stack."""
    settings = StackSettings(
        stack_name=aws.stack_name, secret_name=aws.secret_name, name_prefix="smdemo", run_id=aws.run_id,
        waiter=aws.timing.waiter(aws.timing.stack_timeout),
    )
    stack = WorkshopStack(client=aws.client, region=aws.region, workshop=workshop_folder(), settings=settings)
    try:
        try:
            outputs = stack.deploy()
        except DeployError as failure:
            pytest.fail(f"the workshop stack did not deploy: {failure}", pytrace=False)
        attach_route(aws, outputs)
        workshop = captured(aws, request, stack, DEPLOYED_BY_THE_SUITE)
        with connect(workshop.hardcoded, aws.bastion) as connection:
            seed_bookinfo(connection)
        yield workshop
    finally:
        if aws.can_keep_stack and request.config.getoption("--keep-stack"):
            request.config.stash[KEPT_KEY] = (f"--keep-stack: stack {settings.stack_name} left in "
                                              f"{aws.region}{aws.kept_note}")
            log.warning("%s", request.config.stash[KEPT_KEY])
        elif aws.gone():
            log.warning("stack %s not deleted: %s", settings.stack_name, aws.gone())  # it went with its AWS
        else:
            verify_teardown(request, aws, stack)


def attach_route(aws: AwsTarget, outputs: dict[str, str]) -> None:
    """The checks' way into the stack's network: Session Manager port forwarding through the bastion (its
    first session waits for the bastion to become a managed node)."""
    aws.bastion.attach(lambda: aws.client("ssm"), outputs["BastionInstanceId"],
                       ready_timeout=aws.timing.bastion_ready_timeout, interval=aws.timing.poll_interval)


def existing_workshop(aws: AwsTarget, request: pytest.FixtureRequest, name: str
                      ) -> Generator[Workshop, None, None]:
    """The stack given with --stack: read, never deployed, changed by a deploy or deleted; none of the
    suite's additions (suite/needs.py)."""
    stack = ExistingStack(client=aws.client, region=aws.region, stack_name=name, run_id=aws.run_id)
    try:
        outputs = stack.read()
    except StackNotVerifiable as why:
        stop_target_for_environment(request, f"{aws.mode}: {why}; nothing was changed")
    # The checks name the stack and its secret as the target does for a stack of its own.
    aws.stack_name, aws.secret_name = name, outputs["SecretName"]
    attach_route(aws, outputs)
    yield captured(aws, request, stack, of_existing_stack(name, stack.deployed_by_the_suite))


@contextlib.contextmanager
def watched_for_changes(request: pytest.FixtureRequest, workshop: Workshop) -> Iterator[None]:
    """A read-only run: what an attendee can see, read before the checks and after them; a difference is
    a check that changed the account, which fails the run and is named in the verdict."""
    if not read_only_requested(request.config):
        yield
        return
    name = workshop.stack.settings.stack_name
    before = snapshot(workshop.aws.client, name, workshop.outputs)
    yield
    if workshop.aws.gone():
        return
    changed = differences(before, snapshot(workshop.aws.client, name, workshop.outputs))
    if changed:
        request.config.stash[CHANGED_KEY] = "; ".join(changed)
        message = "the read-only run changed the account:\n" + "\n".join(f"  {line}" for line in changed)
        if INTERRUPTS.raised:
            log.error("%s", message)
        else:
            pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def bastion_shell(workshop: Workshop) -> AttendeeShell:
    """ec2-user's shell on the bastion through Session Manager, once the bastion has booted."""
    shell = AttendeeShell(workshop.aws.client("ssm"), workshop.outputs["BastionInstanceId"],
                          poll=workshop.aws.timing.rotation_poll)
    try:
        shell.wait_until_ready(workshop.aws.timing.bastion_ready_timeout, workshop.aws.timing.rotation_poll * 4)
        not_ready = None
    except BastionNotReady as error:
        not_ready = str(error)
    if not_ready:  # outside the handler: the report shows the reason, not a chain of tracebacks
        pytest.fail(f"the bastion is not what the guide needs: {not_ready}", pytrace=False)
    return shell


@pytest.fixture(scope="session")
@changes_account(WRITES_OLDWAY_CNF)
def attendee_shell(bastion_shell: AttendeeShell, workshop: Workshop) -> AttendeeShell:
    """The bastion's shell with ~/oldway.cnf written down as the guide's first step has it (the
    credentials before any rotation)."""
    written = write_oldway_cnf_from_the_secret(bastion_shell, workshop.secret_arn, workshop.hardcoded_version)
    if written.exit_status != 0:
        pytest.fail(f"could not write ~/oldway.cnf on the bastion from the secret's first version "
                    f"(exit {written.exit_status}): {written.stderr[-500:]}", pytrace=False)
    return bastion_shell


@pytest.fixture(scope="session")
def seeded_bookinfo(workshop: Workshop) -> None:
    """The bookinfo row the guide's steps read: a check that reads it is not run on a stack that may lack it."""
    workshop.additions.require(SEEDED)


def verify_teardown(request: pytest.FixtureRequest, aws: AwsTarget, stack: WorkshopStack) -> None:
    """Delete the stack, then ask the account what of the run is still there: anything is a
    failed teardown, named in the verdict and (unless the run was interrupted) failing the run."""
    problems = stack.delete()
    left = leftovers(aws.client, aws.run_id, stack.outputs)
    if not problems and not left:
        return
    # Each problem on one line, with CloudFormation's reasons (DELETE_FAILED alone does not say why).
    summary = "; ".join([*(" ".join(dict.fromkeys(line.strip() for line in problem.splitlines()))
                           for problem in problems),
                         *left])
    request.config.stash[LEFT_BEHIND_KEY] = summary
    message = "\n".join(["the teardown left resources behind:", *problems,
                          *(f"  still there: {item}" for item in left)])
    if INTERRUPTS.raised:  # pytest is unwinding an interrupt: report, do not raise into it
        log.error("%s", message)
    else:
        pytest.fail(message, pytrace=False)

