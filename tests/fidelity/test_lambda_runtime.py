"""localaws.ext.lambda_runtime: Invoke runs the deployed code for real, as the Lambda service does."""
from __future__ import annotations

import json
import os
import time

import pytest

from localaws.ext.lambda_runtime_lifecycle import blocked
from tests.support.aws_helpers import create_function, create_lambda_role, lambda_zip, log_messages, unique, wait_for
from tests.fidelity.validation import NOT_YET_VALIDATED

HANDLER = """
import json
import os
import time

import boto3


INVOCATIONS = 0  # module state: survives between invocations of a warm environment


def handler(event, context):
    global INVOCATIONS
    INVOCATIONS += 1
    action = event.get("action")
    if action == "context":
        return {"pid": os.getpid(), "invocations": INVOCATIONS, "request_id": context.aws_request_id,
                "log_stream": context.log_stream_name, "log_group": context.log_group_name,
                "function_name": context.function_name, "arn": context.invoked_function_arn,
                "memory": context.memory_limit_in_mb, "remaining_ms": context.get_remaining_time_in_millis()}
    if action == "exit":
        os._exit(3)
    if action == "filesystem":
        ca = open("/etc/pki/tls/cert.pem").read()
        tmp_writable = open("/tmp/probe", "w").write("x") == 1
        try:
            open("/usr/probe", "w")
            root_writable = True
        except OSError:
            root_writable = False
        endpoint = f"https://secretsmanager.{os.environ['AWS_REGION']}.amazonaws.com"
        secrets = boto3.client("secretsmanager", endpoint_url=endpoint).list_secrets()["SecretList"]
        return {"cwd": os.getcwd(), "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
                "ca_is_pem": "BEGIN CERTIFICATE" in ca, "tmp_writable": tmp_writable, "root_writable": root_writable,
                "listed": isinstance(secrets, list),
                "endpoint_setting": os.environ.get("AWS_ENDPOINT_URL")}
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
def function(aws):
    role_name = unique("runtime-role")
    role_arn = create_lambda_role(aws, role_name)
    name = unique("runtime-fn")
    create_function(aws, name, HANDLER, role_arn, timeout=30, environment={"GREETING": "hello-from-config"})
    return {"name": name, "role_name": role_name, "role_arn": role_arn}


def _invoke(aws, name: str, event: dict) -> tuple[dict, object]:
    response = aws.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return response, json.loads(response["Payload"].read())


@pytest.mark.local_only("compares the handler's process with the local AWS's server process")
def test_handler_runs_in_its_own_process_with_the_configured_environment(aws, local_aws, function):
    """Lambda runs the function's code in an execution environment of its own, not inside the service
    that received the Invoke; "The Lambda runtime makes environment variables available to your code"
    (Lambda developer guide, "Working with Lambda environment variables")."""
    response, result = _invoke(aws, function["name"], {"marker": "m1"})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert result["pid"] not in (local_aws.process.pid, os.getpid())
    assert result["greeting"] == "hello-from-config"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_handler_holds_temporary_credentials_of_the_execution_role(aws, function):
    """AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: "The access keys obtained from the
    function's execution role" (Lambda developer guide, "Defined runtime environment variables"): temporary
    (ASIA...) keys, so STS GetCallerIdentity from the function names an assumed-role session of that role."""
    _, result = _invoke(aws, function["name"], {"marker": "m2"})
    assert result["access_key_id"].startswith("ASIA")
    assert result["has_session_token"]
    assert result["caller"].startswith(f"arn:aws:sts::{aws.account_id}:assumed-role/{function['role_name']}/")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_uncaught_exception_is_reported_as_unhandled_function_error(aws, function):
    """Invoke response FunctionError: "If present, indicates that an error occurred during function
    execution. Details about the error are included in the response payload" -- "Unhandled" for an
    exception the runtime caught, with a payload of errorMessage and errorType ("Lambda function errors
    in Python")."""
    response, result = _invoke(aws, function["name"], {"action": "fail", "marker": "m3"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert result["errorType"] == "ValueError"
    assert result["errorMessage"] == "deliberate failure m3"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_function_output_lands_in_its_log_group(aws, function):
    """Lambda "automatically monitors Lambda functions on your behalf and sends logs to Amazon
    CloudWatch": what the function prints lands in the log group /aws/lambda/<function name>
    (Lambda developer guide, "Working with Lambda function logs")."""
    marker = unique("log-marker")
    _invoke(aws, function["name"], {"marker": marker})
    _invoke(aws, function["name"], {"action": "fail", "marker": marker})
    lines = wait_for(lambda: [line for line in log_messages(aws, function["name"]) if marker in line],
                     timeout=10, what="the marker in the log group")
    assert any(line == f"marker {marker}" for line in lines)
    assert any("ValueError" in line and f"deliberate failure {marker}" in line for line in lines)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_invocation_past_the_timeout_is_stopped(aws, function):
    """Timeout: "Lambda runs your code for a set amount of time before timing out" (default 3 s); the
    invocation is stopped and reported as an error reading "Task timed out after ... seconds"
    (Lambda developer guide, "Configure Lambda function timeout")."""
    name = unique("runtime-timeout")
    create_function(aws, name, HANDLER, function["role_arn"], timeout=1)
    started = time.monotonic()
    response, result = _invoke(aws, name, {"action": "sleep", "seconds": 3})
    elapsed = time.monotonic() - started
    assert response.get("FunctionError") == "Unhandled"
    assert "Task timed out" in result["errorMessage"]
    assert elapsed < 3, f"the invocation was not stopped at its 1 s timeout ({elapsed:.1f}s)"
    _, fresh = _invoke(aws, name, {"action": "context"})
    assert fresh["invocations"] == 1, "a timed-out invocation's environment was reused"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_warm_environment_is_reused_and_keeps_module_state(aws, function):
    """"After the function and all extensions have completed, Lambda maintains the execution environment
    for some time in anticipation of another function invocation ... objects declared outside of the
    function's handler method remain initialized" (Lambda developer guide, "Lambda execution environment
    lifecycle", invoke phase): two invocations in a row run in the same process, module state kept."""
    _, first = _invoke(aws, function["name"], {"action": "context"})
    _, second = _invoke(aws, function["name"], {"action": "context"})
    assert second["pid"] == first["pid"]
    assert second["invocations"] > first["invocations"]
    assert second["request_id"] != first["request_id"]
    assert second["log_stream"] == first["log_stream"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_context_object_has_the_runtimes_attributes(aws, function):
    """The context object: function_name, invoked_function_arn, memory_limit_in_mb, aws_request_id,
    log_group_name, log_stream_name, get_remaining_time_in_millis() (Lambda developer guide, "Using the
    Lambda context object to retrieve Python function information")."""
    response, result = _invoke(aws, function["name"], {"action": "context"})
    arn = aws.client("lambda").get_function(FunctionName=function["name"])["Configuration"]["FunctionArn"]
    assert result["function_name"] == function["name"] and result["arn"] == arn
    assert result["log_group"] == f"/aws/lambda/{function['name']}"
    assert result["log_stream"].split("/")[-1].startswith("[$LATEST]")
    assert len(result["request_id"]) == 36 and result["memory"] == "128"
    assert 0 < result["remaining_ms"] <= 30_000
    streams = aws.client("logs").describe_log_streams(logGroupName=result["log_group"])["logStreams"]
    assert result["log_stream"] in [stream["logStreamName"] for stream in streams]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_each_invocation_is_framed_by_start_end_and_report(aws, function):
    """Lambda "sends a START, END and REPORT line for every invocation" to the log stream, REPORT with the
    duration, billed duration and memory size (Lambda developer guide, "Working with Lambda function logs")."""
    _, result = _invoke(aws, function["name"], {"action": "context"})
    request_id = result["request_id"]
    lines = wait_for(lambda: [line for line in log_messages(aws, function["name"]) if request_id in line],
                     timeout=10, what="the invocation's START, END and REPORT lines")
    assert any(line.startswith(f"START RequestId: {request_id} Version: $LATEST") for line in lines)
    assert f"END RequestId: {request_id}" in lines
    report = next(line for line in lines if line.startswith(f"REPORT RequestId: {request_id}"))
    assert "Duration: " in report and "Billed Duration: " in report and "Memory Size: 128 MB" in report


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_runtime_that_exits_is_reported_and_replaced(aws, function):
    """A function that ends its runtime process fails with Runtime.ExitError; the next invocation starts a
    new execution environment ("Lambda execution environment lifecycle", failures during the invoke phase)."""
    _, before = _invoke(aws, function["name"], {"action": "context"})
    response, result = _invoke(aws, function["name"], {"action": "exit"})
    assert response.get("FunctionError") == "Unhandled" and result["errorType"] == "Runtime.ExitError"
    _, after = _invoke(aws, function["name"], {"action": "context"})
    assert after["pid"] != before["pid"] and after["invocations"] == 1


@pytest.mark.parametrize("runtime", blocked("create-block")[-2:])  # AWS moves the dates: read them, never guess
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_runtime_past_its_create_block_date_is_refused(aws, function, runtime):
    """"Runtime deprecation": after a runtime's block-function-create date CreateFunction fails with
    InvalidParameterValueException "The runtime parameter of ... is no longer supported for creating or
    updating AWS Lambda functions" (dates: cfn-lint's table, E2531); after its block-function-update date
    UpdateFunctionConfiguration fails too; a runtime before its dates is still accepted."""
    lam = aws.client("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        lam.create_function(FunctionName=unique("old-runtime"), Runtime=runtime, Role=function["role_arn"],
                            Handler="index.handler", Code={"ZipFile": lambda_zip(HANDLER)})
    assert f"The runtime parameter of {runtime} is no longer supported" in str(refused.value)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName=function["name"], Runtime=blocked("update-block")[-1])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_runtime_filesystem_and_endpoints_look_like_lambdas(aws, function):
    """The code runs in /var/task (LAMBDA_TASK_ROOT), /tmp is writable and the rest read-only ("Lambda
    runtimes", "Configure ephemeral storage"); Amazon Linux's CA bundle is at /etc/pki/tls/cert.pem; the SDK
    reaches `https://secretsmanager.<region>.amazonaws.com` (SECRETS_MANAGER_ENDPOINT in AWS's rotation
    functions) over verified TLS, with no endpoint setting of the local AWS in the environment."""
    role_name = unique("fs-role")
    role_arn = create_lambda_role(aws, role_name, [{"Effect": "Allow", "Action": "secretsmanager:ListSecrets",
                                                          "Resource": "*"}])
    name = unique("fs-fn")
    create_function(aws, name, HANDLER, role_arn, timeout=30)
    response, result = _invoke(aws, name, {"action": "filesystem"})
    assert "FunctionError" not in response, result
    assert result == {"cwd": "/var/task", "task_root": "/var/task", "ca_is_pem": True, "tmp_writable": True,
                      "root_writable": False, "listed": True, "endpoint_setting": None}


MODULES = """
import importlib.util
import sys


def handler(event, context):
    found = {name: importlib.util.find_spec(name) is not None for name in event["modules"]}
    return {"found": found, "path": sys.path}
"""


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_runtime_gives_the_standard_library_and_boto3_only(aws, function):
    """"Building Lambda functions with Python": the runtime includes the SDK for Python (Boto3) and the
    standard library; any other library the function needs goes into its deployment package. Nothing of the
    machine running the local AWS (its virtualenv, its site-packages) is there: /var/task comes first on
    sys.path, the runtime's libraries last."""
    name = unique("bare-fn")
    create_function(aws, name, MODULES, function["role_arn"], timeout=30)
    _, result = _invoke(aws, name, {"modules": ["json", "sqlite3", "boto3", "botocore", "s3transfer", "jmespath",
                                                     "dateutil", "urllib3", "six", "pymysql", "moto", "pytest",
                                                     "certifi", "yaml", "requests"]})
    found = result["found"]
    assert all(found[name] for name in ("json", "sqlite3", "boto3", "botocore", "s3transfer", "jmespath",
                                        "dateutil", "urllib3", "six")), found
    assert not any(found[name] for name in ("pymysql", "moto", "pytest", "certifi", "yaml", "requests")), found
    assert result["path"][0] == "/var/task" and result["path"][-1] == "/var/runtime", result["path"]
    assert not [entry for entry in result["path"] if "site-packages" in entry or "dist-packages" in entry]


IMPORTS_PYMYSQL = """
import pymysql


def handler(event, context):
    return pymysql.__version__
"""


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_an_import_the_package_does_not_bundle_fails_as_in_aws(aws, function):
    """"Troubleshoot invocation issues": a package without a library its handler imports fails every
    invocation with errorType Runtime.ImportModuleError, "Unable to import module 'index': No module named
    'pymysql'"; bundled in the package, the same code runs."""
    bare, bundled = unique("unbundled-fn"), unique("bundled-fn")
    create_function(aws, bare, IMPORTS_PYMYSQL, function["role_arn"], timeout=30)
    response, result = _invoke(aws, bare, {})
    assert response.get("FunctionError") == "Unhandled"
    assert result == {"errorType": "Runtime.ImportModuleError",
                      "errorMessage": "Unable to import module 'index': No module named 'pymysql'"}
    create_function(aws, bundled, IMPORTS_PYMYSQL, function["role_arn"], packages=("pymysql",))
    response, result = _invoke(aws, bundled, {})
    assert "FunctionError" not in response and isinstance(result, str), result
