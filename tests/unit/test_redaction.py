"""Masking catches a secret that pytest's repr shortening cut in two (start + '...' + end)."""
from __future__ import annotations

import pytest

from suite.redaction import SecretRegistry

SECRET = "Zq8vK2pLm9xR4tW7yB3n"


@pytest.fixture()
def registry() -> SecretRegistry:
    registry = SecretRegistry()
    registry.register(SECRET)
    return registry


@pytest.mark.parametrize(("shown", "masked"), [
    (f"Obj(pw='{SECRET[:10]}...{SECRET[-7:]}', x=1)", "Obj(pw='***...***', x=1)"),
    (f"head {SECRET[:6]}...", "head ***..."),
    (f"...{SECRET[-8:]} tail", "...*** tail"),
    (f"whole {SECRET}", "whole ***"),
])
def test_cut_secret_is_masked(registry, shown, masked):
    assert registry.mask(shown) == masked


@pytest.mark.parametrize("shown", ["abc...def", f"{SECRET[:5]}...", "a long list [1, 2, 3, ...]"])
def test_ordinary_cuts_are_left_alone(registry, shown):
    assert registry.mask(shown) == shown
