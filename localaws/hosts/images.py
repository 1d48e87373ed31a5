"""`docker build` and `docker push` without a Docker engine, for the offline run.

The Dockerfile's steps run for real in a bubblewrap sandbox (localaws.hosts.sandbox): COPY places
the context's files, RUN runs the command with /bin/sh, ENV/ARG/WORKDIR/EXPOSE/CMD fill the
image config. What differs from Docker: the base image is the host's userland, so the package
manager steps (dnf, yum, apt-get...) are answered by the host's installed packages (the
offline preflight and scripts/setup.sh install them) and only print what they skipped.
The result is one layer (the files the build changed, as a tar.gz) and an image config,
pushed to ECR through its layer-upload API with a Docker v2 manifest, which is what the
local ECS pulls when a task starts.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shlex
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localaws.hosts.sandbox import DEFAULT_PATH, WRITABLE, Sandbox

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
PACKAGE_MANAGERS = ("dnf", "yum", "microdnf", "apt-get", "apt", "rpm")
SHIM_DIR = "/run/localaws-shims"
SHIM = """#!/bin/sh
echo "offline build: '$(basename "$0") $*' skipped: the host's installed packages stand in for it" >&2
exit 0
"""


class ImageBuildError(RuntimeError):
    pass


@dataclass
class Instruction:
    keyword: str
    arguments: str
    line: int


@dataclass
class BuiltImage:
    layer: bytes  # gzipped tar
    config: dict[str, Any]

    @property
    def config_bytes(self) -> bytes:
        return json.dumps(self.config, sort_keys=True).encode()

    def manifest(self) -> dict[str, Any]:
        return {
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": len(self.config_bytes), "digest": digest(self.config_bytes)},
            "layers": [{"mediaType": LAYER_TYPE, "size": len(self.layer), "digest": digest(self.layer)}],
        }


def digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions with their first line number; continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip(), start))
    return instructions


def _exec_or_shell(arguments: str) -> list[str]:
    if arguments.startswith("["):
        return json.loads(arguments)
    return ["/bin/sh", "-c", arguments]


def _expand(value: str, variables: dict[str, str]) -> str:
    for name, replacement in variables.items():
        value = value.replace("${" + name + "}", replacement).replace("$" + name, replacement)
    return value


class ImageBuilder:
    def __init__(self, context: Path, work_dir: Path):
        self.context = Path(context)
        self.work_dir = Path(work_dir)
        self.sandbox = Sandbox(self.work_dir / "root", hostname="buildkitsandbox")
        self.env: dict[str, str] = {}
        self.args: dict[str, str] = {}
        self.config: dict[str, Any] = {"Env": [], "Cmd": None, "ExposedPorts": {}, "WorkingDir": "", "User": ""}
        self.history: list[dict[str, str]] = []
        self.base = ""

    def build(self) -> BuiltImage:
        dockerfile = self.context / "Dockerfile"
        instructions = parse_dockerfile(dockerfile.read_text())
        self.sandbox.prepare()
        shims = self.work_dir / "shims"
        shims.mkdir(parents=True, exist_ok=True)
        for name in PACKAGE_MANAGERS:
            (shims / name).write_text(SHIM)
            (shims / name).chmod(0o755)
        try:
            for instruction in instructions:
                step = getattr(self, f"_{instruction.keyword.lower()}", None)
                if step is None:
                    raise ImageBuildError(f"{dockerfile}:{instruction.line}: {instruction.keyword} is not supported "
                                          "by the offline build")
                step(instruction, dockerfile, shims)
                self.history.append({"created_by": f"{instruction.keyword} {instruction.arguments}"})
            self.config["Env"] = ["PATH=" + self.env.get("PATH", DEFAULT_PATH)] + [
                f"{k}={v}" for k, v in self.env.items() if k != "PATH"]
            layer = self._layer()
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        diff_id = digest(gzip.decompress(layer))
        config = {"architecture": "amd64", "os": "linux", "config": self.config, "history": self.history,
                  "rootfs": {"type": "layers", "diff_ids": [diff_id]}, "smdemo:base": self.base}
        return BuiltImage(layer, config)

    # -- instructions
    def _from(self, instruction: Instruction, *_: Any) -> None:
        self.base = instruction.arguments

    def _arg(self, instruction: Instruction, *_: Any) -> None:
        name, _equals, default = instruction.arguments.partition("=")
        self.args[name.strip()] = default.strip().strip('"')

    def _env(self, instruction: Instruction, *_: Any) -> None:
        for pair in shlex.split(instruction.arguments):
            name, _equals, value = pair.partition("=")
            self.env[name] = _expand(value, {**self.args, **self.env})

    def _label(self, *_: Any) -> None:
        pass

    def _expose(self, instruction: Instruction, *_: Any) -> None:
        for port in instruction.arguments.split():
            self.config["ExposedPorts"][port if "/" in port else f"{port}/tcp"] = {}

    def _workdir(self, instruction: Instruction, *_: Any) -> None:
        self.config["WorkingDir"] = instruction.arguments

    def _user(self, instruction: Instruction, *_: Any) -> None:
        self.config["User"] = instruction.arguments

    def _cmd(self, instruction: Instruction, *_: Any) -> None:
        self.config["Cmd"] = _exec_or_shell(instruction.arguments)

    def _run(self, instruction: Instruction, dockerfile: Path, shims: Path) -> None:
        env = {**self.args, **self.env}
        env["PATH"] = f"{SHIM_DIR}:{env.get('PATH', DEFAULT_PATH)}"
        result = self.sandbox.run(_exec_or_shell(instruction.arguments), env,
                                  cwd=self.config["WorkingDir"] or "/", extra_binds=[(str(shims), SHIM_DIR)])
        if result.returncode != 0:
            tail = result.stdout.decode(errors="replace")[-2000:]
            raise ImageBuildError(f"{dockerfile}:{instruction.line}: RUN exited with {result.returncode}:\n{tail}")

    def _copy(self, instruction: Instruction, dockerfile: Path, *_: Any) -> None:
        words = shlex.split(instruction.arguments)
        flags = {w.split("=", 1)[0]: w.split("=", 1)[1] for w in words if w.startswith("--")}
        paths = [w for w in words if not w.startswith("--")]
        sources, destination = paths[:-1], paths[-1]
        target = self._inside(destination, dockerfile, instruction)
        many = len(sources) > 1 or destination.endswith("/")
        if many:
            target.mkdir(parents=True, exist_ok=True)
        owner = self._owner(flags.get("--chown"))
        for source in sources:
            origin = (self.context / source).resolve()
            if not origin.is_relative_to(self.context.resolve()) or not origin.exists():
                raise ImageBuildError(f"{dockerfile}:{instruction.line}: COPY source {source!r} is not in the context")
            placed = target / origin.name if many else target
            placed.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, placed)
            if "--chmod" in flags:
                placed.chmod(int(flags["--chmod"], 8))
            if owner:
                os.chown(placed, *owner)

    def _inside(self, destination: str, dockerfile: Path, instruction: Instruction) -> Path:
        relative = destination.lstrip("/")
        if not any(relative == d or relative.startswith(d + "/") for d in WRITABLE):
            raise ImageBuildError(f"{dockerfile}:{instruction.line}: the offline build can only write under "
                                  f"{', '.join('/' + d for d in WRITABLE)}, not {destination}")
        return self.sandbox.root / relative

    def _owner(self, chown: str | None) -> tuple[int, int] | None:
        if not chown:
            return None
        user, _, group = chown.partition(":")
        return self._lookup("passwd", user), self._lookup("group", group or user)

    def _lookup(self, database: str, name: str) -> int:
        if name.isdigit():
            return int(name)
        for line in (self.sandbox.root / "etc" / database).read_text().splitlines():
            fields = line.split(":")
            if fields[0] == name:
                return int(fields[2])
        raise ImageBuildError(f"COPY --chown: no {database} entry {name!r} in the image")

    # -- the layer: what the build changed relative to the base
    def _layer(self) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for top in WRITABLE:
                root = self.sandbox.root / top
                for path in sorted([root, *root.rglob("*")]):
                    relative = path.relative_to(self.sandbox.root)
                    if _unchanged(path, Path("/") / relative):
                        continue
                    archive.add(path, arcname=str(relative), recursive=False)
        return gzip.compress(buffer.getvalue(), mtime=0)


def _unchanged(built: Path, base: Path) -> bool:
    """True when the built file is the same as the base's (so it is not part of the layer)."""
    try:
        mine, theirs = built.lstat(), base.lstat()
    except OSError:
        return False
    if (stat.S_IFMT(mine.st_mode), mine.st_mode, mine.st_uid, mine.st_gid) != (
            stat.S_IFMT(theirs.st_mode), theirs.st_mode, theirs.st_uid, theirs.st_gid):
        return False
    if stat.S_ISLNK(mine.st_mode):
        return os.readlink(built) == os.readlink(base)
    if stat.S_ISREG(mine.st_mode):
        return mine.st_size == theirs.st_size and built.read_bytes() == base.read_bytes()
    return stat.S_ISDIR(mine.st_mode) and base.parts[1:2] == ("etc",)


def build_image(context: Path, work_root: Path | None = None) -> BuiltImage:
    work_dir = Path(tempfile.mkdtemp(prefix="image-build-", dir=work_root))
    return ImageBuilder(context, work_dir).build()


def push_image(ecr: Any, repository_name: str, image: BuiltImage, tag: str = "latest") -> str:
    """Upload the config and layer blobs, then the manifest; returns the image digest."""
    for blob in (image.config_bytes, image.layer):
        blob_digest = digest(blob)
        found = ecr.batch_check_layer_availability(repositoryName=repository_name, layerDigests=[blob_digest])
        if any(layer.get("layerAvailability") == "AVAILABLE" for layer in found.get("layers", [])):
            continue
        upload = ecr.initiate_layer_upload(repositoryName=repository_name)
        part_size = upload.get("partSize") or len(blob)
        for first in range(0, len(blob), part_size):
            part = blob[first:first + part_size]
            ecr.upload_layer_part(repositoryName=repository_name, uploadId=upload["uploadId"], partFirstByte=first,
                                  partLastByte=first + len(part) - 1, layerPartBlob=part)
        ecr.complete_layer_upload(repositoryName=repository_name, uploadId=upload["uploadId"],
                                  layerDigests=[blob_digest])
    pushed = ecr.put_image(repositoryName=repository_name, imageTag=tag, imageManifestMediaType=MANIFEST_TYPE,
                           imageManifest=json.dumps(image.manifest()))
    return pushed["image"]["imageId"]["imageDigest"]
