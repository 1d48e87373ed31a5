"""Lambda execution environments: started on demand, reused while warm, one log stream each.

AWS ("Lambda execution environment lifecycle"): an invocation runs in an execution environment;
the first one for a function version pays the init phase (start the runtime, import the
handler's module), later ones reuse a warm environment, so module state carries over; a
concurrent invocation gets an environment of its own; an invocation that times out, or a
runtime that exits, ends its environment; an update to the function's code or configuration
retires the old ones. Each environment writes one log stream
(`YYYY/MM/DD/[$LATEST]<id>`), each invocation framed by START, END and REPORT lines.

An environment is a process of its own (localaws/functions/bootstrap.py) started from the
long-lived spawner thread, so it dies with the local AWS however that one ends.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from localaws.state import state_dir
from localaws import machinery, processes
from localaws.functions import sandbox as lambda_sandbox, zygote
from localaws.hosts.sandbox import SandboxError, child_pid

RUNTIME_START_TIMEOUT = 30.0  # seconds for the runtime to say it is up (the sandbox and the interpreter)
MAX_IDLE = 6  # warm environments kept in all; AWS too reclaims idle ones (here: the least recently used)


def new_stream_name() -> str:
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"


class RuntimeDidNotStart(RuntimeError):
    """The sandbox or the interpreter failed before any of the function's code ran."""

    def __init__(self, sentence: str, last_lines: str):
        super().__init__(sentence)
        self.last_lines = last_lines


@dataclass
class Outcome:
    result: str  # the JSON payload Invoke returns
    errored: bool
    log: str  # what the invocation wrote, START to REPORT


@dataclass
class Environment:
    """One warm runtime process for one configuration of one function."""

    process: subprocess.Popen
    log_path: Path
    stream: str
    log_offset: int = 0
    last_used: float = field(default_factory=time.monotonic)
    wiring: Any = None  # the namespace's forwards (localaws/network/namespace_forwards.py)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def _new_log(self) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(self.log_offset)
            data = log.read()
        self.log_offset += len(data)
        return data.decode(errors="replace")

    def await_runtime(self, timeout: float) -> None:
        """The runtime's first line says it is up; a sandbox or interpreter that never gets there is the
        local AWS's failure (localaws/machinery.py), with the sandbox's own last words."""
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else b""
        if line.startswith(b'{"ready"'):
            return
        raise self.did_not_start(f"the function's runtime exited with status {self.process.returncode}" if ready
                                 else f"the function's runtime did not start within {timeout:.0f} s")

    def did_not_start(self, cause: str) -> RuntimeDidNotStart:
        """The environment ended before the function's code ran: recorded as the machinery's failure."""
        self.stop()
        last_lines = self._new_log().strip()
        last_words = f": {last_lines.splitlines()[-1]}" if last_lines else ""
        return RuntimeDidNotStart(machinery.record("the local AWS's Lambda sandbox", f"{cause}{last_words}",
                                                   last_lines),
                                  last_lines)

    def invoke(self, function_arn: str, event: object, timeout: float, memory: int, version: str) -> Outcome:
        request_id = str(uuid.uuid4())
        started = time.time()
        request = {"event": event, "request_id": request_id, "log_stream": self.stream, "function_arn": function_arn,
                   "deadline_ms": int((started + timeout) * 1000)}
        answer = None
        try:
            assert self.process.stdin is not None and self.process.stdout is not None
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], timeout)
            if ready:
                answer = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            answer = b""
        elapsed_ms = (time.time() - started) * 1000
        if answer is None:  # timed out: AWS stops the invocation and resets the environment
            self.stop()
            result = {"errorMessage": f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} "
                                      f"Task timed out after {timeout:.2f} seconds", "errorType": "Sandbox.Timedout"}
            outcome = Outcome(json.dumps(result), True, self._new_log())
        elif not answer:  # the runtime process ended (sys.exit, a crash)
            self.stop()
            status = self.process.returncode
            result = {"errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}",
                      "errorType": "Runtime.ExitError"}
            outcome = Outcome(json.dumps(result), True, self._new_log())
        else:
            reply = json.loads(answer)
            outcome = Outcome(json.dumps(reply["result"]), reply["errored"], self._new_log())
        billed = max(1, int(elapsed_ms + 0.999))
        outcome.log = (f"START RequestId: {request_id} Version: {version}\n{outcome.log}"
                       f"END RequestId: {request_id}\n"
                       f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\tBilled Duration: {billed} ms\t"
                       f"Memory Size: {memory} MB\n")
        return outcome

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if self.wiring is not None:
            self.wiring.close()
            self.wiring = None
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe:
                pipe.close()


class Environments:
    """Warm environments by function and configuration; an invocation takes an idle one or starts one."""

    def __init__(self) -> None:
        self._idle: dict[str, list[Environment]] = {}  # configuration key -> idle environments
        self._key_of_function: dict[str, str] = {}  # function ARN -> its current configuration key
        self._all: list[Environment] = []
        self._lock = threading.Lock()

    def _start(self, code_dir: Path, handler: str, env: dict[str, str], network: Any) -> Environment:
        logs = state_dir() / "lambda-logs"
        logs.mkdir(parents=True, exist_ok=True)
        uid = uuid.uuid4().hex
        log_path, hosts = logs / f"{uid}.log", logs / f"{uid}.hosts"
        hosts.write_text(network.hosts)
        stream = new_stream_name()
        info_read, info_write = os.pipe()
        forked_from = zygote.connection()  # the runtime, forked from the zygote where it can be
        passed = (info_write,) if forked_from is None else (info_write, forked_from.fileno())
        argv = lambda_sandbox.command(code_dir, hosts, info_write, handler,
                                      None if forked_from is None else forked_from.fileno())
        try:
            with open(log_path, "ab") as log:
                log_path.chmod(0o600)
                # setpriv ties bwrap to this process, bwrap the runtime to itself (--die-with-parent);
                # the spawner thread outlives requests.
                process = processes.spawn(argv, signal="KILL", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=log, pass_fds=passed,
                                          env={**env, "LAMBDA_TASK_ROOT": lambda_sandbox.TASK_ROOT})
        finally:
            os.close(info_write)
            if forked_from is not None:
                forked_from.close()
        environment = Environment(process, log_path, stream)
        try:
            try:
                pid = child_pid(info_read)
            except SandboxError as failure:  # bwrap itself failed: the machinery's fault, in its own words
                raise environment.did_not_start(str(failure)) from None
            environment.wiring = network.apply(pid)  # before the first invocation is sent
            environment.await_runtime(RUNTIME_START_TIMEOUT)
        except Exception:
            environment.stop()
            raise
        finally:
            os.close(info_read)
        return environment

    def invoke(self, function_arn: str, key: str, start: Callable[[], tuple[Path, str, dict[str, str], Any]],
               event: object, timeout: float, memory: int, version: str) -> tuple[Outcome, str, bool]:
        """Run one invocation; returns its outcome, the environment's log stream and whether the
        stream is new (a cold start)."""
        retired: list[Environment] = []
        with self._lock:
            if self._key_of_function.get(function_arn) not in (None, key):  # code or configuration changed
                retired = self._idle.pop(self._key_of_function[function_arn], [])
            self._key_of_function[function_arn] = key
            idle = self._idle.setdefault(key, [])
            environment = idle.pop() if idle else None
        for old in retired:
            old.stop()
        cold = environment is None
        if environment is None:
            try:
                environment = self._start(*start())
            except RuntimeDidNotStart as failure:  # the caller sees a failed invocation; the suite, the cause
                result = {"errorMessage": f"the local AWS could not run the function: {failure}",
                          "errorType": "LocalAWS.RuntimeDidNotStart"}
                return Outcome(json.dumps(result), True, failure.last_lines + "\n"), new_stream_name(), True
            with self._lock:
                self._all.append(environment)
        outcome = environment.invoke(function_arn, event, timeout, memory, version)
        environment.last_used = time.monotonic()
        reclaimed: list[Environment] = []
        with self._lock:
            if environment.alive and self._key_of_function.get(function_arn) == key:
                self._idle.setdefault(key, []).append(environment)
            elif environment.alive:
                reclaimed.append(environment)
            idle = sorted((e for envs in self._idle.values() for e in envs), key=lambda e: e.last_used)
            for oldest in idle[:max(0, len(idle) - MAX_IDLE)]:
                for envs in self._idle.values():
                    if oldest in envs:
                        envs.remove(oldest)
                reclaimed.append(oldest)
            self._all = [e for e in self._all if e.alive and e not in reclaimed]
        for old in reclaimed:
            old.stop()
            old.log_path.unlink(missing_ok=True)
        return outcome, environment.stream, cold

    def stop_all(self) -> None:
        with self._lock:
            environments, self._all, self._idle = self._all, [], {}
        for environment in environments:
            environment.stop()
            environment.log_path.unlink(missing_ok=True)


ENVIRONMENTS = Environments()
