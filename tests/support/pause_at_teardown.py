"""A pytest plugin for the self-tests that signal a run during its teardown
(tests/selftest/test_nothing_outlives_a_run.py).

The run's cleanup (the last check's teardown: the phases', the stack's, the local AWS's) takes about a second; a
watcher that polls the run's output could see the last check pass only once it is over, on a loaded machine. So the
run stops at the start of its cleanup, says so by creating a file, and waits there until it has received the
signals the self-test sends: they land in the teardown whatever the machine's load. Nothing else of the run
changes; a signal is handled by the suite as any other (suite/interrupts.py).

Loaded with `-p tests.support.pause_at_teardown`; PAUSE_ENV=FILE:COUNT names the file and how many signals to wait
for (at most PAUSE_AT_MOST seconds: a self-test that never signals does not hang the run).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from suite.interrupts import INTERRUPTS

PAUSE_ENV = "SMDEMO_SELFTEST_PAUSE_AT_TEARDOWN"
PAUSE_AT_MOST = 120.0  # seconds
POLL = 0.02  # seconds between two looks at the signals received


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    if nextitem is None and os.environ.get(PAUSE_ENV):
        marker, _, count = os.environ[PAUSE_ENV].rpartition(":")
        Path(marker).touch()
        give_up_at = time.monotonic() + PAUSE_AT_MOST
        # A signal the suite raises on (a second Ctrl-C gives the cleanup up) ends the wait as it ends the teardown.
        while len(INTERRUPTS.received) < int(count) and time.monotonic() < give_up_at:
            time.sleep(POLL)
    return (yield)
