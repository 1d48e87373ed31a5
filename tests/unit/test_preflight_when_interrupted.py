"""suite/preflight.py: a collection that Ctrl-C cut short asks no preflight.

pytest calls pytest_collection_finish from a `finally`, also when a KeyboardInterrupt cut the collection
short, before `-m offline` deselected anything: the live checks were still among the items, and an offline
run interrupted at start-up once ended "NOT RUN: environment: live: no AWS credentials" instead of saying
it was interrupted (CI, the ctrl-c-at-start-up self-test).
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from suite import preflight


def _session_with_a_live_check() -> SimpleNamespace:
    item = SimpleNamespace(callspec=SimpleNamespace(params={preflight.MODE_PARAM: "live"}))
    config = SimpleNamespace(option=SimpleNamespace(collectonly=False), getoption=lambda name, default=None: default)
    return SimpleNamespace(config=config, items=[item])


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    regions: list[str] = []
    monkeypatch.setattr(preflight, "live_preflight", lambda region: regions.append(region))
    return regions


def test_a_finished_collection_with_live_checks_asks_the_live_preflight(asked):
    preflight.pytest_collection_finish(_session_with_a_live_check())
    assert asked == [None]


def test_a_collection_cut_short_by_ctrl_c_asks_nothing(asked):
    with pytest.raises(KeyboardInterrupt):
        try:
            raise KeyboardInterrupt
        finally:  # as pytest's Session.perform_collect calls the hook
            preflight.pytest_collection_finish(_session_with_a_live_check())
    assert asked == []
