"""Runs one Lambda invocation: `lambda_bootstrap.py CODE_DIR MODULE.HANDLER RESULT_FILE`, event on stdin.

Like the Lambda Python runtime: the code directory comes first on sys.path, logging goes to
stdout (the function's log stream), an uncaught exception becomes an
{"errorMessage", "errorType"} result and a non-zero exit status.
"""
import importlib
import json
import logging
import sys
import traceback


class _Context:
    def __init__(self, name: str):
        self.function_name = name
        self.aws_request_id = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def main() -> int:
    code_dir, handler_spec, result_path = sys.argv[1:4]
    sys.path.insert(0, code_dir)
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="[%(levelname)s] %(message)s")
    module_name, function_name = handler_spec.rsplit(".", 1)
    event = json.loads(sys.stdin.read() or "{}")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        result = handler(event, _Context(module_name))
        status = 0
    except Exception as error:  # reported to the caller as the runtime does
        # Only the exception's type and message: the runtime's log line, no locals.
        print(f"[ERROR] {type(error).__name__}: {error}", flush=True)
        print("".join(traceback.format_tb(error.__traceback__)), flush=True)
        result = {"errorMessage": str(error), "errorType": type(error).__name__}
        status = 1
    with open(result_path, "w") as out:
        json.dump(result, out)
    return status


if __name__ == "__main__":
    sys.exit(main())
