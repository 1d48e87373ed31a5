"""localaws.ext.lambda_runtime: Invoke runs the deployed code for real, as the Lambda service does."""
from __future__ import annotations

import json
import os
import time

import pytest

from tests.fidelity.helpers import create_function, create_lambda_role, log_messages, unique, wait_for

HANDLER = """
import json
import os
import time

import boto3


def handler(event, context):
    action = event.get("action")
    if action == "fail":
        raise ValueError("deliberate failure " + event["marker"])
    if action == "sleep":
        time.sleep(event["seconds"])
        return "woke up"
    print("marker", event.get("marker"), flush=True)
    caller = boto3.client("sts").get_caller_identity()["Arn"]
    return {
        "pid": os.getpid(),
        "greeting": os.environ.get("GREETING"),
        "access_key_id": os.environ.get("AWS_ACCESS_KEY_ID"),
        "has_session_token": bool(os.environ.get("AWS_SESSION_TOKEN")),
        "caller": caller,
    }
"""


@pytest.fixture(scope="module")
def function(local_aws):
    role_name = unique("runtime-role")
    role_arn = create_lambda_role(local_aws, role_name)
    name = unique("runtime-fn")
    create_function(local_aws, name, HANDLER, role_arn, timeout=30, environment={"GREETING": "hello-from-config"})
    return {"name": name, "role_name": role_name, "role_arn": role_arn}


def _invoke(aws, name: str, event: dict) -> tuple[dict, object]:
    response = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response, json.loads(response["Payload"].read())


def test_handler_runs_in_its_own_process_with_the_configured_environment(local_aws, function):
    """Lambda runs the function's code in an execution environment of its own, not inside the service
    that received the Invoke; "The Lambda runtime makes environment variables available to your code"
    (Lambda developer guide, "Working with Lambda environment variables")."""
    response, result = _invoke(local_aws, function["name"], {"marker": "m1"})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert result["pid"] not in (local_aws.process.pid, os.getpid())
    assert result["greeting"] == "hello-from-config"


def test_handler_holds_temporary_credentials_of_the_execution_role(local_aws, function):
    """AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: "The access keys obtained from the
    function's execution role" (Lambda developer guide, "Defined runtime environment variables"): temporary
    (ASIA...) keys, so STS GetCallerIdentity from the function names an assumed-role session of that role."""
    _, result = _invoke(local_aws, function["name"], {"marker": "m2"})
    assert result["access_key_id"].startswith("ASIA")
    assert result["has_session_token"]
    assert result["caller"].startswith(f"arn:aws:sts::123456789012:assumed-role/{function['role_name']}/")


def test_uncaught_exception_is_reported_as_unhandled_function_error(local_aws, function):
    """Invoke response FunctionError: "If present, indicates that an error occurred during function
    execution. Details about the error are included in the response payload" -- "Unhandled" for an
    exception the runtime caught, with a payload of errorMessage and errorType ("Lambda function errors
    in Python")."""
    response, result = _invoke(local_aws, function["name"], {"action": "fail", "marker": "m3"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "deliberate failure m3"


def test_function_output_lands_in_its_log_group(local_aws, function):
    """Lambda "automatically monitors Lambda functions on your behalf and sends logs to Amazon
    CloudWatch": what the function prints lands in the log group /aws/lambda/<function name>
    (Lambda developer guide, "Working with Lambda function logs")."""
    marker = unique("log-marker")
    _invoke(local_aws, function["name"], {"marker": marker})
    _invoke(local_aws, function["name"], {"action": "fail", "marker": marker})
    lines = wait_for(lambda: [line for line in log_messages(local_aws, function["name"]) if marker in line],
                     timeout=10, what="the marker in the log group")
    assert any(line == f"marker {marker}" for line in lines)
    assert any("ValueError" in line and f"deliberate failure {marker}" in line for line in lines)


def test_invocation_past_the_timeout_is_stopped(local_aws, function):
    """Timeout: "Lambda runs your code for a set amount of time before timing out" (default 3 s); the
    invocation is stopped and reported as an error reading "Task timed out after ... seconds"
    (Lambda developer guide, "Configure Lambda function timeout")."""
    name = unique("runtime-timeout")
    create_function(local_aws, name, HANDLER, function["role_arn"], timeout=1)
    started = time.monotonic()
    response, result = _invoke(local_aws, name, {"action": "sleep", "seconds": 3})
    elapsed = time.monotonic() - started
    assert response.get("FunctionError") == "Unhandled"
    assert "Task timed out" in result["errorMessage"]
    assert elapsed < 3, f"the invocation was not stopped at its 1 s timeout ({elapsed:.1f}s)"
