"""Build what the deploy stages: the rotation function's package (its code plus its dependencies),
and the workshop's files for ec2-user's home on the bastion."""
from __future__ import annotations

import gzip
import importlib.util
import io
import os
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


def bundle_packages(archive: zipfile.ZipFile, names: tuple[str, ...] = DEPENDENCIES) -> None:
    """Add installed pure-Python packages to a Lambda deployment package, as `pip install -t` would."""
    for name in names:
        root = _package_dir(name)
        for path in sorted(root.rglob("*.py")):
            archive.write(path, str(Path(name) / path.relative_to(root)))


def build_rotation_zip(source_dir: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source_dir.glob("*.py")):
            archive.write(path, path.name)
        bundle_packages(archive)
    return buffer.getvalue()


# The lab's web app's libraries (app/): the caching client and its botocore, pymysql; pure Python,
# copied from the installed packages. botocore keeps the data of the services the app calls only.
APP_LIBRARIES = ("aws_secretsmanager_caching", "botocore", "jmespath", "dateutil", "urllib3", "six", "pymysql")
APP_SERVICES = ("secretsmanager", "sts")


def _library_files(name: str) -> list[tuple[Path, str]]:
    """(file, path in the bundle) of an installed package or single-module library."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None and not spec.submodule_search_locations:
        raise RuntimeError(f"the lab's app needs the Python package {name!r}: pip install -r requirements.txt")
    if not spec.submodule_search_locations:  # a module (six.py)
        assert spec.origin is not None
        return [(Path(spec.origin), Path(spec.origin).name)]
    root = Path(list(spec.submodule_search_locations)[0])
    files = []
    # os.walk, pruned: botocore's data holds hundreds of services, of which the app needs two.
    for folder, subfolders, names in os.walk(root):
        inside = Path(folder).relative_to(root)
        subfolders[:] = [sub for sub in subfolders if sub != "__pycache__" and not (
            name == "botocore" and inside.parts == ("data",) and sub not in APP_SERVICES)]
        files += [(Path(folder) / file, str(Path(name) / inside / file)) for file in names]
    return sorted(files, key=lambda member: Path(member[1]))  # the bundle's order: the same bytes every time


def build_bastion_files(docker_dir: Path, app_dir: Path) -> bytes:
    """ec2-user's home on the bastion, as a tar.gz: docker/ (the Dockerfile and the scripts, executable)
    and app/ (the lab's web app, its libraries in app/lib/); the same bytes for the same files (no times,
    no owners: they become ec2-user's when unpacked)."""
    members: list[tuple[Path, str]] = [(path, path.name) for path in sorted(docker_dir.iterdir()) if path.is_file()]
    members += [(path, f"app/{path.name}") for path in sorted(app_dir.iterdir())
                if path.is_file() and path.suffix in (".py", ".sh")]
    for library in APP_LIBRARIES:
        members += [(path, f"app/lib/{inside}") for path, inside in _library_files(library)]
    buffer = io.BytesIO()
    # gzip level 1: a third of the default level's CPU (0.14 CPU-s a deployment) for a fifth more bytes (1.2 MB).
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive:
            directories: set[str] = set()
            for path, name in members:
                for parent in reversed(Path(name).parents[:-1]):  # directories first, ec2-user's when unpacked
                    if str(parent) not in directories:
                        directories.add(str(parent))
                        folder = tarfile.TarInfo(str(parent))
                        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
                        archive.addfile(folder)
                data = path.read_bytes()
                member = tarfile.TarInfo(name)
                member.size = len(data)
                member.mode = 0o755 if path.suffix == ".sh" else 0o644
                archive.addfile(member, io.BytesIO(data))
    return buffer.getvalue()
