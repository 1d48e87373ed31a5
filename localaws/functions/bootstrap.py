"""One Lambda execution environment: `bootstrap.py CODE_DIR MODULE.HANDLER`, run as
/var/runtime/bootstrap.py by an isolated interpreter (localaws/functions/sandbox.py).

Like the Lambda Python runtime: the code directory comes first on sys.path, the runtime's
libraries (/var/runtime: boto3 and its dependencies) last, after the standard library; the handler's
module is imported once (the init phase) and then called once per invocation for as long
as the environment lives, so module-level state (clients, connections) carries over between
invocations as it does in AWS. Logging and print go to standard error (the function's log
stream); an uncaught exception becomes an {"errorMessage", "errorType"} result.

Protocol with localaws.functions.environments: one JSON line per invocation on stdin
({"event", "request_id", "deadline_ms", "log_stream", "function_arn"}), one JSON line per result on the
original stdout ({"result", "errored"}), written only once the invocation's log is flushed. Before
anything of the function's, one line {"ready": PYTHON_VERSION}: the runtime itself started (what
fails before it is the local AWS's machinery, not the function).
"""
import importlib
import json
import logging
import os
import platform
import sys
import time
import traceback

FORKED_FROM = "--forked-from"  # FD: ask the zygote on the connection FD to fork this environment's runtime


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


class InitError(Exception):
    """What the Python runtime reports when the handler cannot be loaded, with its errorType."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def _handler(code_dir: str, handler_spec: str):
    sys.path.insert(0, code_dir)
    module_name, function_name = handler_spec.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:  # a module the package does not bundle, or no such file
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from error
    except SyntaxError as error:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}") from error
    if not hasattr(module, function_name):
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return module_name, getattr(module, function_name)


def _error(error: BaseException) -> dict:
    # Only the exception's type and message: the runtime's log line, no locals.
    error_type = error.error_type if isinstance(error, InitError) else type(error).__name__
    print(f"[ERROR] {error_type}: {error}", flush=True)
    print("".join(traceback.format_tb(error.__traceback__)), flush=True)
    return {"errorMessage": str(error), "errorType": error_type}


def interpreter_facts() -> dict:
    """How this interpreter started, as its imports would see it: a runtime forked from the zygote
    (localaws/functions/runtime_zygote.py) must have started as this one did."""
    import locale

    return {"version": sys.version, "executable": sys.executable, "flags": repr(sys.flags), "path": list(sys.path),
            "filesystem": [sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()],
            "streams": [[stream.encoding, stream.errors, stream.line_buffering]
                        for stream in (sys.stdin, sys.stdout, sys.stderr)],
            "locale": [locale.getpreferredencoding(False), locale.setlocale(locale.LC_CTYPE)]}


def _forked_runtime(connection_fd: int):
    """This environment's runtime, forked from the zygote that imported the runtime's libraries once, given this
    process's standard streams, arguments, environment and namespaces: its exit status once it ended (this process
    keeps its streams open until then, as the runtime's own process would), or None when the zygote refused (the
    runtime then starts here, as before)."""
    import array
    import socket

    with socket.socket(fileno=connection_fd) as connection:
        request = {"pid": os.getpid(), "argv": sys.argv, "orig_argv": sys.orig_argv, "environment": dict(os.environ),
                   "cwd": os.getcwd(), "umask": os.umask(os.umask(0)), "facts": interpreter_facts(),
                   "entries": sorted(os.listdir(sys.argv[1]))}
        try:
            connection.sendmsg([json.dumps(request).encode() + b"\n"],
                               [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))])
            answers = connection.makefile("rb")
            if "pid" not in json.loads(answers.readline() or b"{}"):
                return None
            return int(json.loads(answers.readline() or b'{"status": 1}')["status"])
        except (OSError, ValueError):  # the zygote went away before it forked: nothing of the function ran yet
            return None


def main() -> int:
    if sys.argv[1] == FORKED_FROM:  # a connection to the zygote, passed by the local AWS
        connection_fd = int(sys.argv[2])
        del sys.argv[1:3]
        del sys.orig_argv[-4:-2]
        status = _forked_runtime(connection_fd)
        if status is not None and status < 0:  # killed by a signal: so is this process
            import signal
            signal.signal(-status, signal.SIG_DFL)
            os.kill(os.getpid(), -status)
        if status is not None:
            os._exit(status & 0xFF)
    code_dir, handler_spec = sys.argv[1:3]
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))  # the runtime's boto3, after the standard library
    channel = os.fdopen(os.dup(1), "w")  # results; fd 1 becomes the log, as fd 2 already is
    os.dup2(2, 1)
    channel.write(json.dumps({"ready": platform.python_version()}) + "\n")
    channel.flush()
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
