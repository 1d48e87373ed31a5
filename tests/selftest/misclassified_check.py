"""Loaded with `-p` by the self-tests only (tests/selftest/test_read_only_runs.py): a check the suite
runs as read-only is made to rotate the workshop's secret first, as a check wrongly classified would,
past the collection's guard (it rotates in its body, through no fixture that says so)."""
from __future__ import annotations

import pytest

MISCLASSIFIED = "test_secretsmanager_4_rotated_within_90_days"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if getattr(item, "originalname", None) == MISCLASSIFIED:
            check = item.obj

            def rotates_first(workshop, evidence, check=check):
                workshop.rotate()
                return check(workshop=workshop, evidence=evidence)

            item.obj = rotates_first
