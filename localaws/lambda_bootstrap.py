"""One Lambda execution environment: `lambda_bootstrap.py CODE_DIR MODULE.HANDLER`.

Like the Lambda Python runtime: the code directory comes first on sys.path, the handler's
module is imported once (the init phase) and then called once per invocation for as long
as the environment lives, so module-level state (clients, connections) carries over between
invocations as it does in AWS. Logging and print go to standard error (the function's log
stream); an uncaught exception becomes an {"errorMessage", "errorType"} result.

Protocol with localaws.lambda_environments: one JSON line per invocation on stdin
({"event", "request_id", "deadline_ms", "log_stream", "function_arn"}), one JSON line per result on the
original stdout ({"result", "errored"}), written only once the invocation's log is flushed.
"""
import importlib
import json
import logging
import os
import sys
import time
import traceback


class LambdaContext:
    """The attributes the Python runtime's context object has."""

    def __init__(self, request: dict, module_name: str):
        env = os.environ
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", module_name)
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = request.get("function_arn", "")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request["request_id"]
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = request.get("log_stream", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = request["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _handler(code_dir: str, handler_spec: str):
    sys.path.insert(0, code_dir)
    module_name, function_name = handler_spec.rsplit(".", 1)
    return module_name, getattr(importlib.import_module(module_name), function_name)


def _error(error: BaseException) -> dict:
    # Only the exception's type and message: the runtime's log line, no locals.
    print(f"[ERROR] {type(error).__name__}: {error}", flush=True)
    print("".join(traceback.format_tb(error.__traceback__)), flush=True)
    return {"errorMessage": str(error), "errorType": type(error).__name__}


def main() -> int:
    code_dir, handler_spec = sys.argv[1:3]
    channel = os.fdopen(os.dup(1), "w")  # results; fd 1 becomes the log, as fd 2 already is
    os.dup2(2, 1)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="[%(levelname)s] %(message)s")
    init_error = None
    module_name = handler_spec.rsplit(".", 1)[0]
    try:
        module_name, handler = _handler(code_dir, handler_spec)
    except Exception as error:  # Runtime.ImportModuleError in AWS: every invocation reports it
        init_error = error
    for line in sys.stdin:
        request = json.loads(line)
        if init_error is not None:
            result, errored = _error(init_error), True
        else:
            try:
                result, errored = handler(request["event"], LambdaContext(request, module_name)), False
            except Exception as error:  # reported to the caller as the runtime does
                result, errored = _error(error), True
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            answer = json.dumps({"result": result, "errored": errored})
        except (TypeError, ValueError) as error:  # Runtime.MarshalError in AWS
            answer = json.dumps({"result": {"errorMessage": f"Unable to marshal response: {error}",
                                            "errorType": "Runtime.MarshalError"}, "errored": True})
        channel.write(answer + "\n")
        channel.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
