"""The deployed workshop as the checks see it: stack outputs, the secret, the database.

Its methods are the workshop's steps (read the secret, rotate it, connect with a set of
credentials) so that the tests read like the workshop.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from botocore.exceptions import ClientError
from tenacity import (RetryError, retry, retry_if_exception, retry_if_result, stop_after_delay, wait_exponential,
                      wait_fixed)

from suite.attendee.database import DBCredentials, connect, read_bookinfo
from suite.deploy.existing import ExistingStack
from suite.deploy.stack import WorkshopStack
from suite.needs import DEPLOYED_BY_THE_SUITE, SEEDED, SuiteAdditions
from suite.redaction import REGISTRY
from suite.targets import AwsTarget


class RotationDidNotFinish(AssertionError):
    pass


T = TypeVar("T")


def short(version_id: str) -> str:
    return version_id[:8]


def stages_text(stages: list[str] | None) -> str:
    """A version's staging labels as the console lists them."""
    return ", ".join(stages or []) or "no label"


def error_code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def _denied(error: BaseException) -> bool:
    return isinstance(error, ClientError) and error_code(error) in ("AccessDeniedException", "AccessDenied")


def read_secret_string(secrets_manager: Any, secret_arn: str, **selector: str) -> str:
    """GetSecretValue's SecretString exactly as stored, registered for masking."""
    value = secrets_manager.get_secret_value(SecretId=secret_arn, **selector)["SecretString"]
    REGISTRY.register_secret_string(value)
    return value


def read_secret_document(secrets_manager: Any, secret_arn: str, **selector: str) -> dict[str, Any]:
    """The secret (registered for masking), parsed as the JSON object it must be."""
    value = read_secret_string(secrets_manager, secret_arn, **selector)
    try:
        document = json.loads(value)
    except ValueError:
        raise ValueError(f"secret {secret_arn}: SecretString is not JSON") from None
    if not isinstance(document, dict):
        raise ValueError(f"secret {secret_arn}: SecretString is JSON but not an object")
    return document


@dataclass
class Workshop:
    aws: AwsTarget
    stack: WorkshopStack | ExistingStack  # deployed by this run, or given with --stack
    hardcoded: DBCredentials  # what mysql.oldway.sh has: captured before any rotation
    rotation_timeout: float
    hardcoded_version: str | None = None  # the secret's version that held them (AWSCURRENT at deploy)
    # The secret the secret and rotation steps act on; dataclasses.replace(workshop,
    # secret_output="DemoUserSecretArn") is the same workshop seen through lab C's secret.
    secret_output: str = "SecretArn"
    additions: SuiteAdditions = DEPLOYED_BY_THE_SUITE  # what of the suite's the stack has (suite/needs.py)
    # (secret ARN, version id) of each version read and registered: a version's value never changes (Secrets
    # Manager refuses a different value for a version id it has), so it is read once a run. Shared by the views.
    versions_read: set[tuple[str, str]] = field(default_factory=set, repr=False, compare=False)

    @property
    def outputs(self) -> dict[str, str]:
        return self.stack.outputs

    @property
    def poll_interval(self) -> float:
        return self.aws.timing.poll_interval

    @property
    def secret_arn(self) -> str:
        return self.outputs[self.secret_output]

    def secrets_manager(self, credentials: Any = None) -> Any:
        return self.aws.client("secretsmanager", credentials)

    # --- the secret
    def secret_document(self, **selector: str) -> dict[str, Any]:
        return read_secret_document(self.secrets_manager(), self.secret_arn, **selector)

    def secret_string(self, **selector: str) -> str:
        """The secret's SecretString exactly as stored (what ECS hands a task)."""
        return read_secret_string(self.secrets_manager(), self.secret_arn, **selector)

    def credentials_from_secret(self, **selector: str) -> DBCredentials:
        return DBCredentials.from_secret(self.secret_document(**selector), where=f"secret {self.secret_arn}")

    def known_secret_values(self) -> int:
        """Read every version of every secret of the stack (the workshop's, the container user's, the lab app's,
        demouser's), so that the registry knows each value the run has seen; returns how many versions."""
        secrets_manager, count = self.secrets_manager(), 0
        names = ("SecretArn", "ContainerUserSecretArn", "AppUserSecretArn", "DemoUserSecretArn")
        for arn in [self.outputs[name] for name in names if name in self.outputs]:
            versions, token = [], None
            while True:  # boto3 has no paginator for ListSecretVersionIds
                page = secrets_manager.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True,
                                                               **({"NextToken": token} if token else {}))
                versions += page["Versions"]
                if not (token := page.get("NextToken")):
                    break
            for version in versions:
                if (arn, version["VersionId"]) in self.versions_read:
                    count += 1
                    continue
                try:
                    read_secret_string(secrets_manager, arn, VersionId=version["VersionId"])
                    self.versions_read.add((arn, version["VersionId"]))
                    count += 1
                except ClientError as error:  # a version without a value (a rotation that stopped at createSecret)
                    if error.response["Error"]["Code"] != "ResourceNotFoundException":
                        raise
        return count

    def labels(self) -> dict[str, list[str]]:
        described = self.secrets_manager().describe_secret(SecretId=self.secret_arn)
        return {version: sorted(stages) for version, stages in described.get("VersionIdsToStages", {}).items()}

    def labels_shown(self) -> dict[str, list[str]]:
        return {short(version): stages for version, stages in self.labels().items()}

    def current_version(self) -> str | None:
        return next((version for version, stages in self.labels().items() if "AWSCURRENT" in stages), None)

    def pending_versions_once_settled(self) -> list[str]:
        """The versions that still hold AWSPENDING after a rotation, awaited until there are none
        (AWS documents that AWSPENDING leaves the new version when rotation completes; some
        reference functions leave it a little later) or the rotation timeout passes."""
        @retry(stop=stop_after_delay(self.rotation_timeout), wait=wait_fixed(self.poll_interval),
               retry=retry_if_result(bool))
        def pending() -> list[str]:
            return [version for version, stages in self.labels().items() if "AWSPENDING" in stages]

        try:
            return pending()
        except RetryError as still:
            return still.last_attempt.result()

    def clear_pending(self) -> None:
        """AWS's documented remedy after a failed rotation: take AWSPENDING off the version that
        is not AWSCURRENT, or the next RotateSecret is refused as "in progress"."""
        for version, stages in self.labels().items():
            if "AWSPENDING" in stages and "AWSCURRENT" not in stages:
                self.secrets_manager().update_secret_version_stage(
                    SecretId=self.secret_arn, VersionStage="AWSPENDING", RemoveFromVersionId=version)

    # --- IAM
    def once_iam_allows(self, call: Callable[[], T]) -> T:
        """`call`, retried while it is denied, for as long as a new grant takes to reach AWS's
        endpoints; a denial past that is the answer."""
        @retry(stop=stop_after_delay(self.aws.timing.iam_propagation), wait=wait_fixed(self.poll_interval),
               retry=retry_if_exception(_denied), reraise=True)
        def attempt() -> T:
            return call()

        return attempt()

    def once_iam_denies(self, call: Callable[[], object]) -> ClientError | None:
        """`call`, repeated while it still succeeds, for as long as a removed grant takes to leave
        AWS's endpoints: the denial, or None if none came by then."""
        @retry(stop=stop_after_delay(self.aws.timing.iam_propagation), wait=wait_fixed(self.poll_interval),
               retry=retry_if_result(lambda denial: denial is None))
        def attempt() -> ClientError | None:
            try:
                call()
            except ClientError as error:
                if _denied(error):
                    return error
                raise
            return None

        try:
            return attempt()
        except RetryError:
            return None

    # --- the database
    def route(self) -> Any:
        """The suite's way to the private database, the tasks and the lab app: port forwarding through
        the bastion with Session Manager (suite/attendee/ssm_tunnel.py), on any stack."""
        return self.aws.bastion

    def read_bookinfo(self, credentials: DBCredentials) -> list[tuple]:
        self.additions.require(SEEDED)
        with connect(credentials, self.route()) as connection:
            return read_bookinfo(connection)

    # --- rotation
    def start_rotation(self) -> str:
        return self.secrets_manager().rotate_secret(SecretId=self.secret_arn)["VersionId"]

    def wait_for_current(self, token: str, since: float | None = None) -> dict[str, list[str]]:
        """Bounded polling of DescribeSecret until the rotation to `token` has finished: the version
        holds AWSCURRENT, and Secrets Manager has taken AWSPENDING off it, which it does once the
        function's finishSecret has returned (AWSCURRENT moves inside finishSecret, which may still
        be at work). A function that leaves AWSPENDING there is given `rotation_settle` seconds.
        A rotation that does not finish is reported with the error its function logged since `since`."""
        poll = self.aws.timing.rotation_poll

        @retry(stop=stop_after_delay(self.rotation_timeout), wait=wait_fixed(poll),
               retry=retry_if_result(lambda labels: "AWSCURRENT" not in labels.get(token, [])))
        def current() -> dict[str, list[str]]:
            return self.labels()

        # AWSCURRENT is seen while finishSecret still runs; AWSPENDING goes once it has returned, moments later:
        # asked again after a fifth of a poll interval, then less and less often, up to the interval (a function
        # that leaves AWSPENDING is not asked about hundreds of times).
        @retry(stop=stop_after_delay(self.aws.timing.rotation_settle), wait=wait_exponential(multiplier=poll / 5,
                                                                                             max=poll),
               retry=retry_if_result(lambda labels: "AWSPENDING" in labels.get(token, [])))
        def settled() -> dict[str, list[str]]:
            return self.labels()

        try:
            seen = current()
        except RetryError:
            logged = self.rotation_error(since) if since is not None else None
            raise RotationDidNotFinish(
                f"rotation to version {short(token)} did not finish within {self.rotation_timeout:.0f}s; "
                f"staging labels now: {self.labels_shown()}"
                + (f"; the rotation function logged: {logged.strip()}" if logged else "")) from None
        if "AWSPENDING" not in seen.get(token, []):  # finishSecret had returned already: nothing to await
            return seen
        try:
            return settled()
        except RetryError as lingering:  # judged by the check on AWSPENDING, not here
            return lingering.last_attempt.result()

    def rotate(self) -> str:
        started = time.time()
        token = self.start_rotation()
        self.wait_for_current(token, since=started - 1)
        return token

    def rotation_error(self, since: float) -> str | None:
        """The last error the rotation function logged since `since` (epoch seconds), if any: one that names this
        secret when there is one (the function rotates the stack's other secrets too, maybe at the same time)."""
        logs = self.aws.client("logs")
        group = f"/aws/lambda/{self.outputs['RotationFunctionName']}"
        try:
            events = logs.filter_log_events(logGroupName=group, startTime=int(since * 1000))["events"]
        except logs.exceptions.ResourceNotFoundException:
            return None
        errors = [event["message"] for event in events if "[ERROR]" in event["message"]]
        own = [error for error in errors if self.secret_arn in error]
        return (own or errors or [None])[-1]

    def wait_for_rotation_error(self, since: float) -> str:
        """Bounded wait for the rotation function to report an error in its log group."""
        group = f"/aws/lambda/{self.outputs['RotationFunctionName']}"

        @retry(stop=stop_after_delay(self.rotation_timeout), wait=wait_fixed(self.poll_interval),
               retry=retry_if_result(lambda line: line is None))
        def poll() -> str | None:
            return self.rotation_error(since)

        try:
            return poll() or ""
        except RetryError:
            raise RotationDidNotFinish(f"the rotation function logged no error in {group} within "
                                       f"{self.rotation_timeout:.0f}s; staging labels: {self.labels_shown()}") from None

    def stop_database(self) -> None:
        rds = self.aws.client("rds")
        instance = self.outputs["DBInstanceId"]
        rds.stop_db_instance(DBInstanceIdentifier=instance)

        @retry(stop=stop_after_delay(self.aws.timing.database_timeout), wait=wait_fixed(self.poll_interval),
               retry=retry_if_result(lambda status: status != "stopped"))
        def poll() -> str:
            return rds.describe_db_instances(DBInstanceIdentifier=instance)["DBInstances"][0]["DBInstanceStatus"]

        poll()

    def start_database(self) -> None:
        rds = self.aws.client("rds")
        instance = self.outputs["DBInstanceId"]
        rds.start_db_instance(DBInstanceIdentifier=instance)
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=instance, WaiterConfig=self.aws.timing.waiter(self.aws.timing.database_timeout))

