"""Build the rotation function's deployment package: its code plus its dependencies."""
from __future__ import annotations

import importlib.util
import io
import zipfile
from pathlib import Path

# Pure-Python dependencies, copied from the installed packages: no network at deploy time.
DEPENDENCIES = ("pymysql",)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the rotation function needs the Python package {name!r}: pip install -r requirements.txt")
    return Path(list(spec.submodule_search_locations)[0])


def build_rotation_zip(source_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source_dir.glob("*.py")):
            archive.write(path, path.name)
        for name in DEPENDENCIES:
            root = _package_dir(name)
            for path in sorted(root.rglob("*.py")):
                archive.write(path, str(Path(name) / path.relative_to(root)))
    return buffer.getvalue()
