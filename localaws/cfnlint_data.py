"""cfn-lint's bundled data folder (the pinned cfn-lint's tables and schemas the extensions read).

Found without importing cfn-lint: its package imports the whole linter and sympy (about a second
of CPU), and the extensions read only its data files.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def folder() -> Path:
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("cfn-lint is not installed (requirements.txt pins it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data"
