"""The lab's web app (seed 003) on the bastion: started by app/start.sh through Session Manager,
and asked for `/` many times a second, as a user's browser would, through Session Manager port
forwarding to the bastion's 127.0.0.1, where the app listens (each request a stream of one session).
"""
from __future__ import annotations

import json
import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paramiko

from suite.attendee.shell import Result, Shell

PORTS = {"hardcoded": 8081, "get-secret": 8082, "cached": 8083}
CONNECTED = "CONNECTED"
UNREACHABLE = "UNREACHABLE"  # the app did not answer at all


@dataclass(frozen=True)
class Sample:
    at: float  # time.time() when asked
    status: str  # CONNECTED, DISCONNECTED, UNREACHABLE
    error: str = ""
    took: float = 0.0  # seconds until the answer (a user waits that long too)

    @property
    def answered(self) -> float:
        """When the answer came: what it says was so by then (the app read and logged in after `at`)."""
        return self.at + self.took


APP_PROCESSES = "app/web_app.py"  # what `pkill -f` names the app's processes by
APP_LOGS = "~/app/*.log"


def start(shell: Shell, variant: str, port: int, secret_arn: str) -> Result:
    """The lab's `./app/start.sh VARIANT PORT SECRET`, in the background on the bastion."""
    return shell.run(shlex.join(["./app/start.sh", variant, str(port), secret_arn]))


def logs(shell: Shell) -> Result:
    return shell.tail(APP_LOGS, 20)


def stop(shell: Shell) -> Result:
    return shell.stop_processes(APP_PROCESSES)


def read_with_the_labs_reader(shell: Shell, secret_arn: str) -> Result:
    """The lab's secret_reader.get_secret on `secret_arn`, in ~/app with its bundled libraries."""
    code = f"import secret_reader; print(secret_reader.get_secret({json.dumps(secret_arn)}))"
    return shell.run(f"cd ~/app && PYTHONPATH=lib:. python3.11 -c {shlex.quote(code)}")


# AWS's caching client waits 2.5 to 5 s (random jitter) before a forced refresh: an answer may take that long.
ANSWER_TIMEOUT = 15.0


def ask(route: Any, port: int, timeout: float = ANSWER_TIMEOUT) -> Sample:
    """GET / of the app on the bastion's 127.0.0.1:port."""
    at = time.time()

    def sample(status: str, error: str) -> Sample:
        return Sample(at, status, error, time.time() - at)

    try:
        channel = route.socket_to("127.0.0.1", port, timeout)
    except (OSError, paramiko.SSHException) as error:
        return sample(UNREACHABLE, str(error) or type(error).__name__)
    try:
        channel.settimeout(timeout)
        channel.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := channel.recv(65536):
            answer += chunk
    except (OSError, paramiko.SSHException, EOFError) as error:
        return sample(UNREACHABLE, str(error) or f"{type(error).__name__} after {time.time() - at:.1f} s")
    finally:
        channel.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    try:
        document = json.loads(body)
    except ValueError:
        return sample(UNREACHABLE, head.decode(errors="replace")[:200] or "no answer")
    return sample(str(document.get("db_status")), str(document.get("error_message", "")))


@dataclass
class Watch:
    """Asks each variant's `/` in a loop of its own, until stopped; marks say what happened when."""

    route: Any
    ports: dict[str, int]
    interval: float = 0.05
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    marks: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> "Watch":
        for variant, port in self.ports.items():
            self.samples[variant] = []
            thread = threading.Thread(target=self._poll, args=(variant, port), name=f"watch-{variant}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _poll(self, variant: str, port: int) -> None:
        while not self._stop.is_set():
            self.samples[variant].append(ask(self.route, port))
            self._stop.wait(self.interval)

    def mark(self, what: str) -> None:
        self.marks.append((time.time(), what))

    def wait_answered_since(self, moment: float, timeout: float) -> None:
        """Until every variant has answered a request made after `moment` (or `timeout` passed, or the watch was
        stopped)."""
        deadline = time.time() + timeout
        while time.time() < deadline and not self._stop.is_set() and not all(
                samples and samples[-1].at >= moment for samples in self.samples.values()):
            time.sleep(0.05)

    def answered_before(self, variant: str, moment: float, since: float = 0.0) -> list[Sample]:
        """The variant's answers to requests made after `since` that came before `moment`: what a
        user saw before a change made at `moment`. A request still in flight then is left out: the
        app reads the secret and logs in after it was asked, maybe after the change began."""
        return [sample for sample in self.samples.get(variant, []) if sample.at >= since and sample.answered < moment]

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=ANSWER_TIMEOUT + 5)

    def last(self, variant: str) -> Sample | None:
        return self.samples[variant][-1] if self.samples.get(variant) else None


def seconds_not_connected(samples: list[Sample], since: float, until: float) -> float:
    """How long the app answered anything but CONNECTED between since and until: each sample's
    status holds until the next sample."""
    total = 0.0
    for sample, following in zip(samples, samples[1:]):
        start, end = max(sample.at, since), min(following.at, until)
        if end > start and sample.status != CONNECTED:
            total += end - start
    return total
