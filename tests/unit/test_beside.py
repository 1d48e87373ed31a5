"""Work started beside the phases (suite/beside.py): each step once, in order, its failure the asking check's."""
from __future__ import annotations

import threading

import pytest

from suite.beside import Beside, Stopped


def recording(log: list[str], name: str, value: object = None, fail: bool = False):
    def step() -> object:
        log.append(name)
        if fail:
            pytest.fail(f"{name} failed", pytrace=False)
        return value if value is not None else name
    return step


def test_asked_for_a_later_step_it_runs_the_earlier_ones_first_and_each_once():
    log: list[str] = []
    work = Beside("w", {"a": recording(log, "a"), "b": recording(log, "b"), "c": recording(log, "c")})
    assert work.result("b") == "b"
    assert work.result("a") == "a"
    assert work.result("c") == "c"
    assert log == ["a", "b", "c"]


def test_started_beside_its_steps_run_in_its_thread_and_a_check_awaits_its_step():
    release, log = threading.Event(), []
    work = Beside("w", {"a": recording(log, "a"), "b": lambda: release.wait(5) and "b"})
    work.start()
    assert work.result("a") == "a"  # not held up by the step after it
    release.set()
    assert work.result("b") == "b"
    work.await_end()
    assert work.thread is not None and not work.thread.is_alive()


def test_a_failed_step_fails_every_check_that_asks_for_it_or_a_later_one_and_no_later_step_runs():
    log: list[str] = []
    work = Beside("w", {"a": recording(log, "a"), "b": recording(log, "b", fail=True), "c": recording(log, "c")})
    work.start()
    work.await_end()
    assert work.result("a") == "a"
    for step in ("b", "c"):
        with pytest.raises(pytest.fail.Exception, match="b failed"):
            work.result(step)
    assert log == ["a", "b"]


def test_stopped_before_a_step_it_runs_no_more_and_says_the_run_ended():
    log: list[str] = []
    work = Beside("w", {"a": recording(log, "a")})
    work.stop(timeout=1)
    with pytest.raises(Stopped, match="the run ended before w's step 'a'"):
        work.result("a")
    assert log == []
