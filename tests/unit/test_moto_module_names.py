"""moto's package list read once (localaws/ext/moto_module_names.py): the same names as moto's own listing."""
from __future__ import annotations

import pytest
from moto import backends

from localaws.ext import moto_module_names


def test_the_kept_list_is_moto_s(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(backends, "list_of_moto_modules", backends.list_of_moto_modules)
    own = list(backends.list_of_moto_modules())
    moto_module_names.install()
    assert list(backends.list_of_moto_modules()) == own == list(backends.list_of_moto_modules())
    assert "secretsmanager" in backends.list_of_moto_modules() and "__pycache__" not in own
