"""Build what the deploy stages: the rotation function's package (its code plus its dependencies),
and the workshop's files for ec2-user's home on the bastion."""
from __future__ import annotations

import gzip
import importlib.util
import io
import tarfile
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


def build_bastion_files(docker_dir: Path) -> bytes:
    """docker/ as a tar.gz for ec2-user's home: the Dockerfile and the scripts (executable), the same
    bytes for the same files (no times, no owners: they become ec2-user's when unpacked)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for path in sorted(p for p in docker_dir.iterdir() if p.is_file()):
                data = path.read_bytes()
                member = tarfile.TarInfo(path.name)
                member.size = len(data)
                member.mode = 0o755 if path.suffix == ".sh" else 0o644
                archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()
