"""Masking catches a secret that pytest's repr shortening cut in two (start + '...' + end), and masks as an
alternation of every registered form would, however registrations and masks interleave."""
from __future__ import annotations

import random
import re

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


def _masked_by_alternation(forms: set[str], text: str) -> str:
    """What masking is: every registered form, the longest where several begin at one place."""
    return re.sub("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)), "***", text)


def test_masking_equals_an_alternation_of_every_form_however_registrations_and_masks_interleave():
    """The pattern is a trie of the forms, compiled again only when a form registered since is in the text:
    interleaved as a run interleaves rotations and log lines, each text is masked as every form would mask it."""
    rng = random.Random(7)
    alphabet = "ab!%'\"\\c "
    for _ in range(300):
        registry = SecretRegistry()
        for _ in range(rng.randint(1, 10)):
            registry.register("".join(rng.choice(alphabet) for _ in range(rng.randint(4, 9))))
            for _ in range(rng.randint(0, 3)):
                text = "".join(rng.choice(alphabet + "xy") for _ in range(120))
                assert registry.mask(text) == _masked_by_alternation(set(registry.values), text), text


def test_a_value_registered_after_a_mask_is_masked_next_time():
    registry = SecretRegistry()
    registry.register("first-password")
    assert registry.mask("first-password second-password") == "*** second-password"
    registry.register("second-password")
    assert registry.mask("first-password second-password") == "*** ***"
