"""Small builders the fidelity modules share: names, Lambda packages and roles, log reading."""
from __future__ import annotations

import io
import json
import textwrap
import time
import uuid
import zipfile
from typing import Any, Callable

from localaws.service import ACCOUNT_ID, LocalAWS

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def lambda_zip(source: str, module: str = "index") -> bytes:
    """A deployment package holding one module."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}.py", textwrap.dedent(source))
    return buffer.getvalue()


def create_lambda_role(aws: LocalAWS, name: str, statements: list[dict[str, Any]] | None = None) -> str:
    iam = aws.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="inline",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    return arn


def create_function(aws: LocalAWS, name: str, source: str, role_arn: str, *, timeout: int = 30,
                    environment: dict[str, str] | None = None, handler: str = "index.handler") -> str:
    kwargs: dict[str, Any] = {}
    if environment:
        kwargs["Environment"] = {"Variables": environment}
    return aws.client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=role_arn, Handler=handler,
        Code={"ZipFile": lambda_zip(source)}, Timeout=timeout, **kwargs,
    )["FunctionArn"]


def log_messages(aws: LocalAWS, function_name: str) -> list[str]:
    """Every line the function wrote, across its log streams, oldest first (empty if none yet)."""
    logs = aws.client("logs")
    events: list[dict[str, Any]] = []
    kwargs = {"logGroupName": f"/aws/lambda/{function_name}"}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken") or not page["events"]:
                break
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in sorted(events, key=lambda event: event["timestamp"])]


def wait_for(condition: Callable[[], Any], timeout: float = 30, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def secret_arn_pattern(aws: LocalAWS, name_glob: str) -> str:
    return f"arn:aws:secretsmanager:{aws.region}:{ACCOUNT_ID}:secret:{name_glob}"
