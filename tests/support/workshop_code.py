"""The repository workshop's Python code, imported from its folder (workshop/ is the workshop as handed
out, not a Python package): the rotation function as Lambda loads it, a module of its own name."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

WORKSHOP = Path(__file__).resolve().parents[2] / "workshop"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it, as import does (patching by name finds it)
    spec.loader.exec_module(module)
    return module


rotation_function = _load("rotation_function", WORKSHOP / "rotation" / "rotation_function.py")
