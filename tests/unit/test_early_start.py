"""suite.early_start: the offline verification's local AWS launched before the collection, and what the run's own
process reads while it waits for it: parliament's IAM definition, only when the Audit phase's policy checks will run
(most of the self-tests' runs never need it: half a second of CPU each)."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from suite import early_start
from suite.controls import policy


def runtestloop_with(monkeypatch: pytest.MonkeyPatch, *nodeids: str) -> threading.Event:
    """Set once the read-ahead has run, for a run whose launched local AWS its checks (these) need."""
    read = threading.Event()
    monkeypatch.setattr(policy, "read_ahead", read.set)
    monkeypatch.setattr(early_start, "environment_problem", lambda config: None)
    monkeypatch.setattr(early_start, "needs_local_aws", lambda item: True)
    config = SimpleNamespace(stash={early_start.LAUNCHED_KEY: SimpleNamespace(stop=lambda: None)})
    session = SimpleNamespace(config=config, items=[SimpleNamespace(nodeid=nodeid) for nodeid in nodeids])
    early_start.pytest_runtestloop(session)  # type: ignore[arg-type]
    assert early_start.LAUNCHED_KEY in config.stash  # still the `aws` fixture's to adopt
    return read


def test_a_run_with_the_audit_phase_reads_the_iam_definition_while_its_local_aws_starts(monkeypatch):
    assert runtestloop_with(monkeypatch, "tests/rds/test_rds_phase.py::test_rotation_completes[offline]",
                            "tests/audit/test_audit_phase.py::test_secret_controls_are_met[offline-least-privilege]"
                            ).wait(5)


def test_a_run_without_it_does_not(monkeypatch):
    assert not runtestloop_with(monkeypatch, "tests/rds/test_rds_phase.py::test_rotation_completes[offline]").wait(0.5)
