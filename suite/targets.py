"""Where the suite runs: a real AWS account (live) or the local AWS (offline).

Both give the same thing to the fixtures: boto3 clients for the operator, the region and
account, a unique run id, the names to deploy under, the bastion the attendee's steps go
through, and one timing profile (how long to wait for what). As in pytest-testinfra, where
only the backend knows the transport, nothing else in the suite knows which mode it is in:
`mode` is there for the report to print, never to branch on.
"""
from __future__ import annotations

import importlib.metadata
import math
import os
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import boto3
import botocore.config
import botocore.exceptions
from botocore.exceptions import (ClientError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError,
                                 PartialCredentialsError, ReadTimeoutError)

from suite.deploy.stack import run_tags
from localaws.functions import sandbox as lambda_sandbox
from localaws.network.addresses import AddressUnavailable, require_port
from localaws.hosts.software import require_system_files
from localaws.hosts.sandbox import SandboxError, require_root
from localaws.access_keys import AccessKey
from localaws.service import ACCOUNT_ID, LocalAWS, LocalAWSError
from localaws.system_tools import MissingSystemTool, require_tool
from suite.attendee.ssm_tunnel import SessionManagerRoute
from suite.credentials import Credentials
from suite.environment import EnvironmentProblem, require_free_disk
from suite.redaction import REGISTRY


@dataclass(frozen=True)
class Timing:
    """How long to wait for what. The local AWS answers at once; AWS takes its time (the live
    figures follow what AWS documents or what its services take in practice)."""

    poll_interval: float  # between status polls: staging labels, log events, IAM
    waiter_delay: float  # boto3 waiters (CloudFormation, ECS, RDS): seconds between attempts (a fraction
    # offline: a task or a stack deletion there takes a second or less, and botocore sleeps any float)
    stack_timeout: float  # a stack with an RDS instance: up to about 30 minutes
    task_timeout: float  # a Fargate task: PROVISIONING to RUNNING, or to STOPPED
    database_timeout: float  # StopDBInstance / StartDBInstance: 10 to 15 minutes each
    rotation_timeout: float  # the default of --rotation-timeout
    rotation_settle: float  # after AWSCURRENT moved, for Secrets Manager to take AWSPENDING off
    iam_propagation: float  # a new IAM grant reaches every endpoint: seconds
    new_role_settle: float  # a brand-new role, before another service (ECS) can assume it
    host_keys_timeout: float  # a host's console output or a task's log shows its SSH host keys
    events_timeout: float  # CloudTrail: events appear within about 15 minutes
    events_interval: float  # between LookupEvents polls
    lookup_interval: float  # LookupEvents: 2 requests a second per account and region
    rotation_poll: float  # between staging-label polls while a rotation runs
    policy_rotations: int  # rotations whose passwords the password-policy check reads
    bastion_ready_timeout: float = 60  # the SSM Agent registered, cloud-init done (dnf installs, files)
    watch_interval: float = 0.1  # the App lesson: from one answer of the lab app to the next request (reloading)

    def sharing(self, targets: int) -> "Timing":
        """The waits of one of `targets` targets verified at once on one machine (--accounts: one local AWS and
        the workers share its CPU): each polls `targets` times less often, since every poll is an API call, work
        for the client and the local AWS alike (the N targets poll as often as one does), and may wait `targets`
        times longer."""
        slower = {name: getattr(self, name) * targets for name in (
            "poll_interval", "waiter_delay", "events_interval", "lookup_interval", "rotation_poll",
            "stack_timeout", "task_timeout", "database_timeout", "rotation_timeout", "rotation_settle",
            "iam_propagation", "host_keys_timeout", "events_timeout", "bastion_ready_timeout", "watch_interval")}
        return replace(self, **slower)

    def waiter(self, timeout: float) -> dict[str, float]:
        """WaiterConfig that polls every `waiter_delay` seconds for `timeout` seconds in all."""
        return {"Delay": self.waiter_delay, "MaxAttempts": max(1, math.ceil(timeout / self.waiter_delay))}


OFFLINE_TIMING = Timing(poll_interval=0.1, waiter_delay=0.1, stack_timeout=60, task_timeout=60, database_timeout=60,
                        rotation_timeout=60, rotation_settle=5, iam_propagation=5, new_role_settle=0,
                        host_keys_timeout=30, events_timeout=10,
                        events_interval=0.5, lookup_interval=0, rotation_poll=0.05, policy_rotations=20,
                        bastion_ready_timeout=20)
# The live code path aimed at an AWS-compatible endpoint (AWS_ENDPOINT_URL): no AWS
# propagation delays to wait out, so it polls as offline does, with more room.
ENDPOINT_TIMING = Timing(poll_interval=0.2, waiter_delay=1, stack_timeout=600, task_timeout=300, database_timeout=300,
                         rotation_timeout=120, rotation_settle=10, iam_propagation=10, new_role_settle=0,
                         host_keys_timeout=120,
                         events_timeout=60, events_interval=1, lookup_interval=0.5, rotation_poll=0.2,
                         policy_rotations=20,
                         bastion_ready_timeout=180)
LIVE_TIMING = Timing(poll_interval=10, waiter_delay=15, stack_timeout=2400, task_timeout=600, database_timeout=1800,
                     rotation_timeout=600, rotation_settle=60, iam_propagation=60, new_role_settle=15,
                     host_keys_timeout=600, events_timeout=15 * 60,
                     events_interval=30, lookup_interval=0.5, rotation_poll=5, policy_rotations=5,
                     bastion_ready_timeout=900)


@dataclass
class AwsTarget:
    mode: str  # for the report only
    region: str
    account_id: str
    run_id: str
    client_factory: Callable[..., Any]
    bastion: SessionManagerRoute  # the database, the tasks and the lab app, reached from smdemo-host
    timing: Timing
    stack_name: str
    secret_name: str
    can_keep_stack: bool = False  # --keep-stack: an account outlives the run; offline, a local AWS started detached
    kept_note: str = ""  # how to point another run at what --keep-stack kept
    endpoint_url: str | None = None  # not AWS's own endpoints: the local AWS, or AWS_ENDPOINT_URL
    endpoint_note: str = ""  # what that endpoint is, for the report and the verdict
    versions: dict[str, str] = field(default_factory=dict)
    close: Callable[[], None] = lambda: None
    problems: Callable[[], str | None] = lambda: None  # offline: what the local AWS logged going wrong
    gone: Callable[[], str | None] = lambda: None  # offline: why the local AWS stopped serving, if it did
    machinery_failure: Callable[[], str | None] = lambda: None  # offline: its own machinery failed (not the workshop)
    off_model: Callable[[], list[dict[str, str]]] = lambda: []  # offline: answers unlike AWS's model
    not_modelled: Callable[[], list[str]] = lambda: []  # offline: settings the stacks asked for and it does not model
    started_at: float = field(default_factory=time.time)  # the run's window opens here (CloudTrail)
    rds_ca_bundle: Callable[[], str] = lambda: rds_global_bundle()  # PEM: what TLS clients verify the DB with

    # One client per service and credentials for the whole run: making a botocore client costs tens of
    # milliseconds of CPU (its class and every operation's method are built anew), and the checks ask for
    # hundreds. botocore's clients are thread-safe; nothing registers a handler on one that others must not see.
    _clients: dict[tuple[str, Credentials | None], Any] = field(default_factory=dict, repr=False)
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        with self._clients_lock:
            key = (service, credentials)
            if key not in self._clients:
                self._clients[key] = self.client_factory(service, credentials)
            return self._clients[key]

    def cannot_run_checks(self) -> str | None:
        """Why this AWS cannot be trusted to try the workshop any more (it died, or its machinery failed)."""
        return self.gone() or self.machinery_failure()

    @property
    def tags(self) -> list[dict[str, str]]:
        """The run's tags, on everything the run creates (a cleanup by run id finds it all)."""
        return run_tags(self.run_id)

    @property
    def ecs_tags(self) -> list[dict[str, str]]:
        return [{"key": tag["Key"], "value": tag["Value"]} for tag in self.tags]


def new_run_id() -> str:
    """The run's UTC start time and a random suffix: the sweeper reads a run's age from it."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(2)


# The local AWS's data plane: RDS instances, the bastion and task sshd, the task sandbox.
OFFLINE_TOOLS = ((["mariadbd", "mysqld"], "mariadb-server"), (["sshd"], "openssh-server"), (["bwrap"], "bubblewrap"),
                 (["setpriv"], "util-linux"),  # setpriv ties every process of the run to it
                 (["nsenter"], "util-linux"), (["ip"], "iproute2"))  # into an instance: Run Command, its metadata


def offline_preflight(state_parent: Path) -> None:
    """What the local AWS needs of this machine; EnvironmentProblem says what to do."""
    try:
        for candidates, package in OFFLINE_TOOLS:
            require_tool(candidates, package)
        require_system_files()
        require_root()
        require_port()
    except (MissingSystemTool, SandboxError, AddressUnavailable) as missing:
        raise EnvironmentProblem(f"offline: {missing}") from None
    require_free_disk(state_parent)


def offline_target(state_dir: Path, keep: bool = False, launched: LocalAWS | None = None) -> AwsTarget:
    """Start the local AWS (after the preflight, again: a target can be made without pytest). With `keep`
    (--keep-stack) it is started detached and left serving at the end, its state in `state_dir`; or finish
    starting the one `launched` early (suite/early_start.py)."""
    offline_preflight(state_dir.parent)
    try:
        local = (launched or LocalAWS(state_dir, detached=keep)).start()
    except LocalAWSError as failed:
        raise EnvironmentProblem(f"offline: {failed}") from None
    return _local_target(local, close=local.keep if keep else local.stop, keep=keep)


CALLER_POLICY_VARIABLE = "SMDEMO_CALLER_POLICY"


def _as_policy_caller(local: LocalAWS, close: Callable[[], None], keep: bool) -> Callable[[], None]:
    """With SMDEMO_CALLER_POLICY=FILE (an IAM policy, e.g. iam/caller-full-run.json), the suite's clients sign
    as a new IAM user holding only that policy instead of the administrator: a call outside it is denied, as it
    would be for a live caller given that policy. Returns `close`, which on a local AWS left serving removes that
    user first (nothing of the run outlives it)."""
    path = os.environ.get(CALLER_POLICY_VARIABLE)
    if not path:
        return close
    try:
        document = Path(path).read_text()
        caller = local.act_as_caller(document, user=f"workshop-caller-{secrets.token_hex(3)}")
    except (OSError, ClientError) as refused:
        close()
        raise EnvironmentProblem(f"offline: {CALLER_POLICY_VARIABLE}={path}: {refused}") from None
    REGISTRY.register(caller.secret_access_key)
    if not keep:
        return close  # the server stops, and the user with it

    def remove_then_close() -> None:
        try:
            local.remove_caller()
        finally:
            close()
    return remove_then_close


def kept_offline_target(state_dir: Path) -> AwsTarget:
    """The local AWS a --keep-stack run left serving (--local-aws DIR): used, and left serving."""
    offline_preflight(state_dir.parent)
    try:
        local = LocalAWS.attach(state_dir)
    except LocalAWSError as failed:
        raise EnvironmentProblem(f"offline: {failed}") from None
    return _local_target(local, close=lambda: None, keep=True)


def shared_offline_target(shared: dict[str, Any], account: str, unusable_key: bool = False) -> AwsTarget:
    """One account of the local AWS the run's controller started and stops (--accounts: one local AWS for every
    worker, suite/shared_local_aws.py): `shared` says where it serves; its administrator's key comes once the
    server serves. `unusable_key` (a self-test): a key the local AWS never issued, as a target whose credentials
    are wrong."""
    from suite.shared_local_aws import accounts_of

    if "problem" in shared:
        raise EnvironmentProblem(shared["problem"])
    offline_preflight(Path(shared["state_dir"]).parent)
    ready = accounts_of(shared)
    if "problem" in ready:
        raise EnvironmentProblem(ready["problem"])
    local = LocalAWS(Path(shared["state_dir"]), region=shared["region"])
    local.port, local.endpoint_url, local.attached_pid = shared["port"], shared["endpoint_url"], ready["pid"]
    key = ready["admins"][account]
    local.admin = AccessKey(key[0], "not-the-key-it-issued" if unusable_key else key[1])
    try:  # the question live asks first: do these credentials work?
        identity = local.client("sts").get_caller_identity()
    except ClientError as refused:
        raise EnvironmentProblem(f"offline: account {account}'s credentials do not work ({refused}); "
                                 f"nothing was created") from None
    return _local_target(local, close=lambda: None, keep=False, account_id=identity["Account"],
                         timing=OFFLINE_TIMING.sharing(shared.get("targets_at_once", 1)))


def _local_target(local: LocalAWS, close: Callable[[], None], keep: bool, account_id: str = ACCOUNT_ID,
                  timing: Timing = OFFLINE_TIMING) -> AwsTarget:
    assert local.admin is not None
    REGISTRY.register(local.admin.secret_access_key)
    close = _as_policy_caller(local, close, keep)
    # One local AWS per run: the workshop's own names.
    note = (f"; the local AWS keeps serving it: verify it again with -m offline --local-aws {local.state_dir} "
            f"--stack smdemo; stop it with python -m suite.sweeper --offline --delete") if keep else ""
    return AwsTarget(
        mode="offline", region=local.region, account_id=account_id, run_id=new_run_id(),
        client_factory=local.client, bastion=SessionManagerRoute(), timing=timing, stack_name="smdemo",
        secret_name="smdemo", endpoint_url=local.endpoint_url,
        endpoint_note="the local AWS",
        # moto is the server's import, not the suite's: its version without importing it (0.1 s CPU).
        versions={"moto": importlib.metadata.version("moto"), "Lambda runtime": lambda_sandbox.stand_in()},
        close=close, problems=local.problems,
        gone=local.gone, machinery_failure=local.machinery_failure, off_model=local.violations,
        not_modelled=local.not_modelled, rds_ca_bundle=lambda: local.rds_ca_bundle.read_text(),
        can_keep_stack=keep, kept_note=note,
    )


# Many targets at once share the caller's API rate: botocore's adaptive mode retries throttled calls, slowing down.
ADAPTIVE_RETRIES = botocore.config.Config(retries={"mode": "adaptive", "max_attempts": 10})


def target_session(region: str | None, profile: str | None = None, role_arn: str | None = None) -> boto3.Session:
    """The session of one target: a profile of the AWS config, or a role assumed from the default credentials
    (botocore's assume-role provider refreshes its keys before they expire)."""
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound as missing:
        raise EnvironmentProblem(f"live: {missing}; nothing was created") from None
    if not role_arn:
        return session
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials

    source = session.get_credentials()
    if source is None:
        raise EnvironmentProblem(f"live: no AWS credentials to assume {role_arn} with; nothing was created")
    fetcher = AssumeRoleCredentialFetcher(session._session.create_client, source, role_arn,
                                          extra_args={"RoleSessionName": "smdemo-verify"})
    assumed = boto3.Session(region_name=session.region_name)
    assumed._session._credentials = DeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")
    return assumed


def live_preflight(region: str | None, session: boto3.Session | None = None) -> tuple[boto3.Session, dict[str, Any]]:
    """Credentials, a region with Secrets Manager, and AWS answering to them: (session, caller identity).
    Nothing is created; EnvironmentProblem says what is missing."""
    if session is None:
        session = boto3.Session(region_name=region) if region else boto3.Session()
    if session.get_credentials() is None:
        raise EnvironmentProblem("live: no AWS credentials configured (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                                 "AWS_SECRET_ACCESS_KEY); nothing was created")
    if not session.region_name:
        raise EnvironmentProblem("live: no AWS region configured (pass --aws-region or set AWS_REGION); "
                                 "nothing was created")
    if session.region_name not in session.get_available_regions("secretsmanager"):
        raise EnvironmentProblem(f"live: region {session.region_name!r} is not an AWS region with Secrets Manager "
                                 f"(check --aws-region / AWS_REGION); nothing was created")
    frozen = session.get_credentials().get_frozen_credentials()
    REGISTRY.register([frozen.secret_key, frozen.token or ""])
    sts = session.client("sts", config=botocore.config.Config(connect_timeout=10, retries={"max_attempts": 2}))
    try:
        return session, sts.get_caller_identity()
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as unreachable:
        raise EnvironmentProblem(f"live: AWS does not answer from here ({unreachable}): check the network, a "
                                 f"proxy, or AWS_ENDPOINT_URL; nothing was created") from None
    except (ClientError, NoCredentialsError, PartialCredentialsError) as refused:
        raise EnvironmentProblem(f"live: the configured AWS credentials do not work ({refused}); "
                                 f"nothing was created") from None


def live_target(region: str | None, session: boto3.Session | None = None) -> AwsTarget:
    """The caller's account; `session` (--targets: a target's profile or role) instead of the default one."""
    try:
        session, identity = live_preflight(region, session)
    except botocore.exceptions.BotoCoreError as failed:  # an assumed role's refusal, a profile's bad config
        raise EnvironmentProblem(f"live: the target's credentials do not work ({failed}); "
                                 f"nothing was created") from None
    config = ADAPTIVE_RETRIES

    def client(service: str, credentials: Credentials | None = None) -> Any:
        if credentials is None:
            return session.client(service, config=config)
        return boto3.client(service, region_name=session.region_name, config=config, **credentials.as_client_kwargs())

    # Names per run: a deleted secret's name stays reserved for its recovery window.
    run_id = new_run_id()
    elsewhere = not_aws_endpoint()
    return AwsTarget(mode="live", region=session.region_name, account_id=identity["Account"], run_id=run_id,
                     client_factory=client, bastion=SessionManagerRoute(),
                     timing=ENDPOINT_TIMING if elsewhere else LIVE_TIMING,
                     stack_name=f"smdemo-{run_id}", secret_name=f"smdemo-{run_id}",
                     can_keep_stack=True, endpoint_url=elsewhere,
                     endpoint_note="not AWS: an AWS-compatible endpoint (AWS_ENDPOINT_URL)" if elsewhere else "")


RDS_GLOBAL_BUNDLE = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"


def rds_global_bundle() -> str:
    """The RDS CA bundle attendees download, as PEM text (override: SMDEMO_RDS_CA_BUNDLE, a PEM file,
    e.g. the local AWS's CA when live is pointed at it)."""
    if os.environ.get("SMDEMO_RDS_CA_BUNDLE"):
        return Path(os.environ["SMDEMO_RDS_CA_BUNDLE"]).read_text()
    with urllib.request.urlopen(RDS_GLOBAL_BUNDLE, timeout=30) as answer:
        return answer.read().decode()


def not_aws_endpoint() -> str | None:
    """The endpoint live is pointed at instead of AWS (botocore's AWS_ENDPOINT_URL), if any."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


__all__ = ["AwsTarget", "EnvironmentProblem", "Timing", "kept_offline_target", "live_preflight", "live_target",
           "offline_preflight", "offline_target", "shared_offline_target", "target_session"]
