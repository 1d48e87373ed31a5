"""Session fixtures: the mode (the only place it is known), the deployed workshop.

`aws` is parametrized over the two modes, each param carrying its marker, so `-m offline`,
`-m live` or both select which run; every check takes the same path through these fixtures.
`mode` has the same params for the checks that need no AWS (the Template phase): it starts nothing,
needs no credentials, and the preflight, which reads `aws`'s params only, does not run for it.
"""
from __future__ import annotations

import argparse
import logging
import math
from typing import Iterator

import pytest

from suite.deploy.stack import DeployError, StackSettings, WorkshopStack
from suite.attendee.bastion import published_host_keys
from suite.attendee.database import DBCredentials, connect, seed_bookinfo
from suite.attendee.mysql_scripts import write_oldway_cnf_from_the_secret
from suite.attendee.session_manager import AttendeeShell, BastionNotReady
from suite.report.phases import PHASES, mode_of, phase_of
from suite.interrupts import INTERRUPTS
from suite.preflight import LOCAL_AWS_PROBLEMS_KEY, PROBLEM_KEY, stop_for_environment, watch_target
from suite.targets import AwsTarget, EnvironmentProblem, live_target, offline_target
from suite.teardown import LEFT_BEHIND_KEY, leftovers
from suite.workshop import Workshop, read_secret_document
from suite.workshop_folder import NotAWorkshopFolder, point_at, workshop_folder

log = logging.getLogger("workshop.suite")


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
    group.addoption("--keep-stack", action="store_true", help="live: keep the stack after the run (default: delete)")
    group.addoption("--aws-region", default=None, help="live: region to deploy to (default: the AWS config's)")
    group.addoption("--rotation-timeout", type=positive_seconds, default=None,
                    help="seconds to await a rotation (default: 60 offline, 600 live)")
    group.addoption("--workshop", default=None, metavar="DIR",
                    help="the workshop folder to verify (template.yaml, rotation/, labs/, docker/, app/; "
                         "default: SMDEMO_WORKSHOP_DIR, else this repository's workshop/)")


def pytest_configure(config: pytest.Config) -> None:
    directory = config.getoption("--workshop")
    if directory:
        try:
            point_at(directory)
        except NotAWorkshopFolder as wrong:
            raise pytest.UsageError(str(wrong)) from None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The workshop's order, whatever order the folders were given in: the template (read, not deployed),
    RDS, then Fargate, ..., then audit (which looks for what the others did), each mode's checks together."""
    phases = list(PHASES)
    modes = ["offline", "live"]

    def rank(item: pytest.Item) -> tuple[int, int]:
        mode = mode_of(item)
        phase = phase_of(item.nodeid)
        if mode is None or phase not in phases:
            return (-1, 0)  # the project's own tests, before any deployment
        return (modes.index(mode), phases.index(phase))

    items.sort(key=rank)


MODE_PARAMS = [
    pytest.param("offline", marks=pytest.mark.offline, id="offline"),
    pytest.param("live", marks=pytest.mark.live, id="live"),
]


@pytest.fixture(scope="session", params=MODE_PARAMS)
def mode(request: pytest.FixtureRequest) -> str:
    """The mode of a check that needs no AWS (the Template phase): offline or live, selected by `-m` as
    `aws` is, with nothing started and no credentials asked for."""
    return request.param


@pytest.fixture(scope="session", params=MODE_PARAMS)
def aws(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsTarget]:
    """The AWS the workshop is deployed to: a real account (live) or the local AWS (offline)."""
    try:
        if request.param == "offline":
            target = offline_target(tmp_path_factory.mktemp("localaws"))
        else:
            target = live_target(request.config.getoption("--aws-region"))
    except EnvironmentProblem as problem:  # once, for the whole run: not each check's failure
        stop_for_environment(request.config, str(problem))
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
    """The deployed workshop stack, its database seeded, its pre-rotation credentials captured."""
    settings = StackSettings(
        stack_name=aws.stack_name, secret_name=aws.secret_name, name_prefix="smdemo", run_id=aws.run_id,
        admin_cidr=aws.admin_cidr(), bastion_public_key=aws.bastion.public_key,
        waiter=aws.timing.waiter(aws.timing.stack_timeout),
    )
    stack = WorkshopStack(client=aws.client, region=aws.region, workshop=workshop_folder(), settings=settings)
    try:
        try:
            outputs = stack.deploy()
        except DeployError as failure:
            pytest.fail(f"the workshop stack did not deploy: {failure}", pytrace=False)
        aws.bastion.attach(outputs["BastionPublicIp"], published_host_keys(
            aws.client("ec2"), outputs["BastionInstanceId"], timeout=aws.timing.host_keys_timeout))
        timeout = request.config.getoption("--rotation-timeout") or aws.timing.rotation_timeout
        current = DBCredentials.from_secret(
            read_secret_document(aws.client("secretsmanager"), outputs["SecretArn"], VersionStage="AWSCURRENT"),
            where=f"secret {outputs['SecretArn']}")
        # mysql.oldway.sh: the master credentials written into a script, host and port from the stack.
        hardcoded = DBCredentials(outputs["DBEndpointAddress"], int(outputs["DBEndpointPort"]),
                                  current.username, current.password, outputs.get("DBName"))
        with connect(hardcoded, aws.bastion) as connection:
            seed_bookinfo(connection)
        workshop = Workshop(aws=aws, stack=stack, hardcoded=hardcoded, rotation_timeout=timeout)
        workshop.hardcoded_version = workshop.current_version()
        yield workshop
    finally:
        if aws.can_keep_stack and request.config.getoption("--keep-stack"):
            log.warning("--keep-stack: stack %s left in %s", settings.stack_name, aws.region)
        elif aws.gone():
            log.warning("stack %s not deleted: %s", settings.stack_name, aws.gone())  # it went with its AWS
        else:
            verify_teardown(request, aws, stack)


@pytest.fixture(scope="session")
def attendee_shell(workshop: Workshop) -> AttendeeShell:
    """ec2-user's shell on the bastion through Session Manager, once the bastion has booted, with
    ~/oldway.cnf written down as the guide's first step has it (the credentials before any rotation)."""
    shell = AttendeeShell(workshop.aws.client("ssm"), workshop.outputs["BastionInstanceId"],
                          poll=workshop.aws.timing.rotation_poll)
    try:
        shell.wait_until_ready(workshop.aws.timing.bastion_ready_timeout, workshop.aws.timing.rotation_poll * 4)
        not_ready = None
    except BastionNotReady as error:
        not_ready = str(error)
    if not_ready:  # outside the handler: the report shows the reason, not a chain of tracebacks
        pytest.fail(f"the bastion is not what the guide needs: {not_ready}", pytrace=False)
    written = write_oldway_cnf_from_the_secret(shell, workshop.secret_arn, workshop.hardcoded_version)
    if written.exit_status != 0:
        pytest.fail(f"could not write ~/oldway.cnf on the bastion from the secret's first version "
                    f"(exit {written.exit_status}): {written.stderr[-500:]}", pytrace=False)
    return shell


def verify_teardown(request: pytest.FixtureRequest, aws: AwsTarget, stack: WorkshopStack) -> None:
    """Delete the stack, then ask the account what of the run is still there: anything is a
    failed teardown, named in the verdict and (unless the run was interrupted) failing the run."""
    problems = stack.delete()
    left = leftovers(aws.client, aws.run_id, stack.outputs)
    if not problems and not left:
        return
    # Each problem on one line, with CloudFormation's reasons (DELETE_FAILED alone does not say why).
    summary = "; ".join([*(" ".join(dict.fromkeys(line.strip() for line in problem.splitlines())) for problem in problems),
                         *left])
    request.config.stash[LEFT_BEHIND_KEY] = summary
    message = "\n".join(["the teardown left resources behind:", *problems,
                          *(f"  still there: {item}" for item in left)])
    if INTERRUPTS.raised:  # pytest is unwinding an interrupt: report, do not raise into it
        log.error("%s", message)
    else:
        pytest.fail(message, pytrace=False)

