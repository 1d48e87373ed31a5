"""Loaded with `-p` by the self-tests only (tests/selftest/test_read_only_runs.py): one check loses its
read_only marker, as a new check written without one would, and one read-only check is given a fixture that
changes the account: the collection must refuse both."""
from __future__ import annotations

import pytest

from tests.selftest.misclassified_check import is_check

UNMARKED = ("test_network_controls_are_met", "RDS.2")  # the check, and its rule (suite/controls/rules.py)
READ_ONLY_BUT_ROTATES = ("test_secret_controls_are_met", "SecretsManager.4")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_check(item, UNMARKED):
            item.own_markers[:] = [mark for mark in item.own_markers if mark.name != "read_only"]
        if is_check(item, READ_ONLY_BUT_ROTATES):
            item._fixtureinfo.names_closure.append("first_rotation")
            item._fixtureinfo.name2fixturedefs["first_rotation"] = item.session._fixturemanager.getfixturedefs(
                "first_rotation", item)
