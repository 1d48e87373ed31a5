"""Lambda Invoke runs the deployed code for real, in an execution environment of its own
(a warm process reused between invocations: localaws/functions/environments.py).

AWS: the function's handler runs with the function's environment variables and
temporary credentials of its execution role (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN), its output goes to the log group /aws/lambda/<name>, written with the
execution role's permissions ("Sending Lambda function logs to CloudWatch Logs": the role needs
logs:CreateLogGroup to have the group made, logs:CreateLogStream and logs:PutLogEvents to write, as
AWSLambdaBasicExecutionRole grants; what it may not do is not done, and the function still runs), an uncaught
exception is reported as X-Amz-Function-Error: Unhandled with an errorMessage/errorType
payload, and an invocation past the function's Timeout is stopped. Each execution environment writes one
stream, its events stamped in whole milliseconds.
moto 5.2.5 needs a Docker engine for any of this.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.iam.access_control import PermissionResult
from moto.iam.models import iam_backends

from localaws.state import state_dir
from localaws.network import endpoints
from localaws.functions import network as lambda_network
from localaws.ext.iam_enforcement import identity_decision
from localaws.ext.lambda_execution_role import execution_role
from localaws.functions.environments import ENVIRONMENTS


def code_root() -> Path:
    return state_dir() / "lambda-code"


def _code_dir(function: LambdaFunction) -> Path:
    """Unpack the deployment package once per distinct zip."""
    digest = hashlib.sha256(function.code_bytes).hexdigest()[:16]
    target = code_root() / f"{function.function_name}-{digest}"
    if not target.exists():
        code_root().mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=code_root()))  # same directory: the rename is atomic
        with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # a concurrent invocation unpacked it first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _environment(function: LambdaFunction) -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/opt/bin",  # Lambda's, less /var/lang/bin (the runtime is elsewhere)
        "LANG": "C.UTF-8",
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": str(function.version),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": function.logs_group_name,
        "_HANDLER": function.handler,
    }
    env.update({k: str(v) for k, v in (function.environment_vars or {}).items()})
    # As the execution role, which Lambda assumes at each cold start: a role whose trust policy no
    # longer admits Lambda fails the invocation (localaws/ext/lambda_execution_role.py).
    env.update(execution_role(function.account_id, function.region, function.role,
                              function.function_name).as_environment())
    # No endpoint setting: the SDK resolves https://<service>.<region>.amazonaws.com, which the
    # sandbox's /etc/hosts sends to the local AWS (localaws/functions/sandbox.py, localaws/network/endpoints.py).
    return env


def _configuration_key(function: LambdaFunction) -> str:
    """What an execution environment is made for: a change to any of it retires warm environments."""
    settings = [hashlib.sha256(function.code_bytes).hexdigest(), function.handler, function.role,
                sorted((function.environment_vars or {}).items()), function.timeout, function.memory_size]
    return hashlib.sha256(json.dumps(settings, default=str).encode()).hexdigest()


def _role_may(function: LambdaFunction, action: str, stream: str = "") -> bool:
    """Whether the execution role's policies allow a CloudWatch Logs `action` on the function's group
    (evaluated as IAM evaluates a request of the role's session, against the stream's ARN)."""
    try:
        role = iam_backends[function.account_id][function.partition].get_role_by_arn(function.role)
    except Exception:  # noqa: BLE001 - a role deleted since: Lambda can no longer act as it
        return False
    policies = [*role.policies.values(), *role.managed_policies.values()]
    resource = (f"arn:{function.partition}:logs:{function.region}:{function.account_id}:log-group:"
                f"{function.logs_group_name}:log-stream:{stream}")
    return identity_decision(policies, action, resource) == PermissionResult.PERMITTED


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    logs = self.logs_backend
    if self.logs_group_name not in logs.groups and _role_may(self, "logs:CreateLogGroup"):
        logs.ensure_log_group(self.logs_group_name)
    outcome, stream, cold = ENVIRONMENTS.invoke(
        self.function_arn, _configuration_key(self),
        lambda: (_code_dir(self), self.handler, _environment(self), lambda_network.plan(self)),
        event if event is not None else {}, float(self.timeout or 3), int(self.memory_size or 128), str(self.version))
    group = logs.groups.get(self.logs_group_name)
    if cold and group is not None and stream not in group.streams and _role_may(self, "logs:CreateLogStream", stream):
        logs.create_log_stream(self.logs_group_name, stream)
    if group is not None and stream in group.streams and _role_may(self, "logs:PutLogEvents", stream):
        now = int(time.time() * 1000)
        logs.put_log_events(self.logs_group_name, stream,
                            [{"timestamp": now, "message": line} for line in outcome.log.splitlines()])
    return outcome.result, outcome.errored, outcome.log


def invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    event = json.loads(body) if body else {}
    result, errored, logs = self._invoke_lambda(event=event)
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    if request_headers.get("x-amz-invocation-type", "RequestResponse") == "RequestResponse":
        tail = logs.encode()[-4096:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return result.encode()


def stop_all() -> None:
    ENVIRONMENTS.stop_all()
    endpoints.stop_all()


def install() -> None:
    LambdaFunction._invoke_lambda = _invoke_lambda
    LambdaFunction.invoke = invoke
