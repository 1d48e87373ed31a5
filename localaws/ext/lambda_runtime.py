"""Lambda Invoke runs the deployed code for real, in its own process.

AWS: the function's handler runs with the function's environment variables and
temporary credentials of its execution role (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN), its output goes to the log group /aws/lambda/<name>, an uncaught
exception is reported as X-Amz-Function-Error: Unhandled with an errorMessage/errorType
payload, and an invocation past the function's Timeout is stopped. Each invocation writes to a
stream of its own, its events stamped in whole milliseconds.
moto 5.2.5 needs a Docker engine for any of this.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction

from localaws import processes
from localaws.access_keys import assume_service_role

RUNNER = Path(__file__).resolve().parent.parent / "lambda_bootstrap.py"
STATE_DIR = Path(os.environ.get("LOCALAWS_STATE_DIR", tempfile.gettempdir()))
CODE_ROOT = STATE_DIR / "lambda-code"
RESULTS = STATE_DIR / "lambda-results"  # in the run's own directory: an interrupted invocation leaves nothing elsewhere


def _code_dir(function: LambdaFunction) -> Path:
    """Unpack the deployment package once per distinct zip."""
    digest = hashlib.sha256(function.code_bytes).hexdigest()[:16]
    target = CODE_ROOT / f"{function.function_name}-{digest}"
    if not target.exists():
        CODE_ROOT.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=CODE_ROOT))  # same directory: the rename is atomic
        with zipfile.ZipFile(io.BytesIO(function.code_bytes)) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # a concurrent invocation unpacked it first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _environment(function: LambdaFunction) -> dict[str, str]:
    endpoint = os.environ["LOCALAWS_ENDPOINT"]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
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
    env.update(assume_service_role(function.account_id, function.region, function.role,
                                   function.function_name).as_environment())
    # The function's SDK reaches the local AWS: the one setting that differs from AWS.
    env["AWS_ENDPOINT_URL"] = endpoint
    return env


def _invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    self.logs_backend.ensure_log_group(self.logs_group_name)
    code_dir = _code_dir(self)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False, dir=RESULTS) as result_file:
        result_path = result_file.name
    try:
        try:
            completed = processes.run(
                [sys.executable, str(RUNNER), str(code_dir), self.handler, result_path],
                input=json.dumps(event if event is not None else {}),
                capture_output=True,
                text=True,
                env=_environment(self),
                cwd=code_dir,
                timeout=float(self.timeout or 3),
            )
            logs = completed.stdout + completed.stderr
            result = Path(result_path).read_text() or "null"
            errored = completed.returncode != 0
        except subprocess.TimeoutExpired as expired:
            logs = (expired.stdout or "") + (expired.stderr or "")
            if isinstance(logs, bytes):
                logs = logs.decode(errors="replace")
            result = json.dumps({"errorMessage": f"Task timed out after {self.timeout} seconds",
                                 "errorType": "Sandbox.Timedout"})
            errored = True
    finally:
        os.unlink(result_path)
    self.save_logs(logs or "(no output)")
    return result, errored, logs


def save_logs(self: LambdaFunction, output: str) -> None:
    """One stream per invocation (`YYYY/MM/DD/[VERSION]ID`), timestamps as whole milliseconds."""
    stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{self.version}]{uuid.uuid4().hex}"
    self.logs_backend.create_log_stream(self.logs_group_name, stream)
    now = int(time.time() * 1000)
    self.logs_backend.put_log_events(self.logs_group_name, stream,
                                     [{"timestamp": now, "message": line} for line in output.splitlines()])


def invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    event = json.loads(body) if body else {}
    result, errored, logs = self._invoke_lambda(event=event)
    if errored:
        response_headers["x-amz-function-error"] = "Unhandled"
    if request_headers.get("x-amz-invocation-type", "RequestResponse") == "RequestResponse":
        tail = logs.encode()[-4096:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return result.encode()


def install() -> None:
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]
    LambdaFunction.save_logs = save_logs  # type: ignore[method-assign]
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]
