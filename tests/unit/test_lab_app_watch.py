"""suite/attendee/lab_app.py: what a user of the lab's app saw before a change is the answers that
came before it, not a request still in flight when the change began (the App phase's flaky
"never connected": on a loaded machine the get-secret app read the secret before a rotation and
logged in after the rotation's setSecret had changed the password)."""
from __future__ import annotations

import json
import threading
import time

from suite.attendee.lab_app import CONNECTED, Sample, Watch


class HeldApp:
    """An app on a route (as Session Manager port forwarding from the bastion gives it) that answers what the
    database says when it serves a request; once `hold` is set, a request waits until `release` is set."""

    def __init__(self):
        self.status = CONNECTED
        self.hold = threading.Event()
        self.held = threading.Event()  # a request is waiting
        self.release = threading.Event()

    def socket_to(self, host: str, port: int, timeout: float):
        app = self

        class Channel:
            answered = False

            def settimeout(self, seconds: float) -> None:
                pass

            def sendall(self, data: bytes) -> None:
                pass

            def recv(self, size: int) -> bytes:
                if self.answered:
                    return b""
                self.answered = True
                if app.hold.is_set():
                    app.held.set()
                    app.release.wait(5)
                return b"HTTP/1.0 200 OK\r\n\r\n" + json.dumps({"db_status": app.status}).encode()

            def close(self) -> None:
                pass

        return Channel()


def test_a_request_in_flight_at_a_change_is_not_what_was_seen_before_it():
    app = HeldApp()
    watch = Watch(app, {"get-secret": 8082}, interval=0.01).start()
    since = time.time()
    try:
        watch.wait_answered_since(since, timeout=5)  # what the App phase's fixtures do before a change
        app.hold.set()
        assert app.held.wait(5)  # a request asked before the change, not served yet
        watch.mark("rotation 1")
        app.status = "DISCONNECTED"  # the rotation's setSecret: the held request logs in after it
        app.hold.clear()
        app.release.set()
        watch.wait_answered_since(time.time(), timeout=5)
    finally:
        watch.stop()
    moment = watch.marks[0][0]
    asked_before = [sample for sample in watch.samples["get-secret"] if sample.at < moment]
    assert asked_before[-1].status == "DISCONNECTED"  # the race: asked before the change, served after it
    answered_before = watch.answered_before("get-secret", moment, since=since)
    assert answered_before and answered_before[-1].status == CONNECTED
    assert all(since <= sample.at and sample.answered < moment for sample in answered_before)


def test_answered_before_keeps_the_answers_that_came_in_the_window():
    samples = [Sample(0.0, CONNECTED, took=0.5), Sample(0.6, CONNECTED, took=0.2),
               Sample(0.9, "DISCONNECTED", took=0.5)]
    watch = Watch(None, {}, samples={"get-secret": samples})
    assert watch.answered_before("get-secret", 1.0) == samples[:2]  # the third came at 1.4
    assert watch.answered_before("get-secret", 1.0, since=0.5) == samples[1:2]
    assert watch.answered_before("cached", 1.0) == []
