"""Loaded with `-p` by the self-tests only (tests/selftest/test_read_only_runs.py): a check the suite
runs as read-only is made to rotate the workshop's secret first, as a check wrongly classified would,
past the collection's guard (it rotates in its body, through no fixture that says so)."""
from __future__ import annotations

import pytest

# the check, and its rule (suite/controls/rules.py)
MISCLASSIFIED = ("test_secret_controls_are_met", "SecretsManager.4")
SELECTED = f"{MISCLASSIFIED[0]} and {MISCLASSIFIED[1]}"  # as -k selects it


def is_check(item: pytest.Item, check: tuple[str, str]) -> bool:
    """The item is that check with that rule."""
    rule = getattr(getattr(item, "callspec", None), "params", {}).get("rule")
    return getattr(item, "originalname", None) == check[0] and getattr(rule, "id", None) == check[1]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if is_check(item, MISCLASSIFIED):
            check = item.obj

            def rotates_first(rule, workshop, request, evidence, check=check):
                workshop.rotate()
                return check(rule=rule, workshop=workshop, request=request, evidence=evidence)

            item.obj = rotates_first
