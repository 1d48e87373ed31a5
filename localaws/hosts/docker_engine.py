"""An instance's Docker engine, for the commands the workshop's scripts use: build, images, tag, login, push.

AWS side (ECR user guide, "Pushing a Docker image"): `aws ecr get-login-password | docker login --username
AWS --password-stdin <account>.dkr.ecr.<region>.amazonaws.com` authenticates the user's docker to the
registry as the principal that got the token (localaws/ext/ecr_login_tokens.py), the login is kept per
user (~/.docker/config.json); `docker push <registry>/<repository>:<tag>` uploads the layers and the
manifest as that principal, so its IAM permissions decide (denied: ... not authorized to perform:
ecr:InitiateLayerUpload ...), over the instance's network (the registry must be reachable).
Docker side: `docker build --tag NAME PATH` builds the Dockerfile in PATH; `docker images` lists
REPOSITORY, TAG, IMAGE ID, CREATED, SIZE; `docker tag SOURCE TARGET` adds a name; pushing a name with
no login for its registry fails with "no basic auth credentials".
Here the engine runs in the local AWS; the instance's `docker` (localaws/hosts/docker_cli.py) reaches it on
a Unix socket bound into the instance at /run/docker.sock. The build is the local image builder
(localaws/hosts/images.py) on the instance's files (read through /proc/<pid>/root).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from botocore.exceptions import ClientError

from localaws.hosts import images
from localaws.access_keys import AccessKey
from localaws.relay import serve_each

log = logging.getLogger("localaws.docker")
REGISTRY = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com$")


class DockerError(Exception):
    """What the docker command prints on stderr before it exits 1."""


@dataclass
class LocalImage:
    image: images.BuiltImage
    created: float

    @property
    def image_id(self) -> str:
        return images.digest(self.image.config_bytes)[7:19]


def _name_and_tag(reference: str) -> tuple[str, str]:
    name, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "latest")
    return name, tag or "latest"


def _options(command: str, args: list[str], *spec: tuple[tuple[str, ...], dict[str, Any]]) -> argparse.Namespace:
    """`args` of `docker COMMAND` parsed by `spec` ((names, settings) of each argument)."""
    parser = argparse.ArgumentParser(prog=f"docker {command}", add_help=False, exit_on_error=False)
    for names, settings in spec:
        parser.add_argument(*names, **settings)
    try:
        return parser.parse_args(args)
    except (argparse.ArgumentError, SystemExit) as error:
        raise DockerError(f"docker {command}: {error}") from None


def _age(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, int(seconds))} seconds ago"
    return f"{int(seconds // 60)} minutes ago"


class DockerEngine:
    def __init__(self, name: str, socket_path: Path, work_dir: Path, root_pid: Callable[[], int | None],
                 reaches_registry: Callable[[], str | None], caller_of: Callable[[str], AccessKey | None]):
        """`root_pid()`: a process in the instance (its files are under /proc/PID/root);
        `reaches_registry()`: why the instance cannot reach ECR, or None; `caller_of(password)`: whose
        key an ECR login password stands for (localaws/ext/ecr_login_tokens.py)."""
        self.caller_of = caller_of
        self.name = name
        self.socket_path = socket_path
        self.work_dir = work_dir
        self.root_pid = root_pid
        self.reaches_registry = reaches_registry
        self.images: dict[tuple[str, str], LocalImage] = {}
        self.logins: dict[tuple[int, str], AccessKey] = {}  # (uid, registry) -> the key the token stands for
        self._lock = threading.Lock()
        socket_path.parent.mkdir(parents=True, exist_ok=True)
        socket_path.unlink(missing_ok=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # A socket's path may hold 107 bytes; a run's state directory can be deeper than that. Bound
        # through a descriptor of its directory, the path is short and the socket lands where it should.
        directory = os.open(socket_path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._listener.bind(f"/proc/self/fd/{directory}/{socket_path.name}")
        finally:
            os.close(directory)
        # the instance's docker command checks the docker group, as the socket's mode would
        os.chmod(socket_path, 0o666)
        self._listener.listen(16)
        self._closed = threading.Event()
        threading.Thread(target=serve_each, args=(self._listener, self._closed, self._serve, "docker-request"),
                         name=f"docker-{name}", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        self.socket_path.unlink(missing_ok=True)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def _serve(self, connection: socket.socket) -> None:
        with connection, connection.makefile("rw", encoding="utf-8") as stream:
            def say(data: str, which: str = "out") -> None:
                stream.write(json.dumps({"stream": which, "data": data}) + "\n")
                stream.flush()

            code = 0
            try:
                request = json.loads(stream.readline())
                self.command(request["argv"], request["cwd"], int(request["uid"]), request.get("stdin", ""), say)
            except DockerError as error:
                say(f"{error}\n", "err")
                code = 1
            except Exception as error:  # noqa: BLE001 - the command fails, the engine goes on
                log.exception("%s: docker request failed", self.name)
                say(f"Error response from daemon: {error}\n", "err")
                code = 1
            try:
                stream.write(json.dumps({"exit": code}) + "\n")
                stream.flush()
            except OSError:
                pass

    def command(self, argv: list[str], cwd: str, uid: int, stdin: str, say: Callable[..., None]) -> None:
        if not argv:
            raise DockerError("Usage:  docker [OPTIONS] COMMAND")
        verb, rest = argv[0], argv[1:]
        handlers = {"build": self._build, "images": self._images, "image": self._image, "tag": self._tag,
                    "login": self._login, "push": self._push, "version": self._version, "info": self._version}
        if verb not in handlers:
            raise DockerError(f"docker: '{verb}' is not a docker command.\nSee 'docker --help'")
        handlers[verb](rest, cwd, uid, stdin, say)

    # --- the commands
    def _build(self, args: list[str], cwd: str, uid: int, stdin: str, say: Callable[..., None]) -> None:
        options = _options("build", args, (("--tag", "-t"), {"action": "append", "default": []}),
                           (("--pull",), {"action": "store_true"}), (("--file", "-f"), {}), (("path",), {}))
        pid = self.root_pid()
        if pid is None:
            raise DockerError("Error response from daemon: the instance is not running")
        inside = os.path.normpath(os.path.join(cwd, options.path))
        context = Path(f"/proc/{pid}/root") / inside.lstrip("/")
        if not (context / "Dockerfile").is_file():
            raise DockerError(f"unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                              f"lstat {inside}/Dockerfile: no such file or directory")
        say(f"Sending build context to Docker daemon ({inside})\n")
        # As the docker CLI sends it: the engine builds from its own copy of the context.
        self.work_dir.mkdir(parents=True, exist_ok=True)
        copy = Path(tempfile.mkdtemp(prefix="context-", dir=self.work_dir))
        try:
            shutil.copytree(context, copy / "context", symlinks=True)
            built = images.build_image(copy / "context", self.work_dir)
        except images.ImageBuildError as failed:
            raise DockerError(f"The command returned a non-zero code: {str(failed).replace(str(copy), '')}") from None
        finally:
            shutil.rmtree(copy, ignore_errors=True)
        local = LocalImage(built, time.time())
        say(f"Successfully built {local.image_id}\n")
        with self._lock:
            for reference in options.tag:
                self.images[_name_and_tag(reference)] = local
                say(f"Successfully tagged {reference}\n")

    def _images(self, args: list[str], cwd: str, uid: int, stdin: str, say: Callable[..., None]) -> None:
        with self._lock:
            listed = sorted(self.images.items(), key=lambda item: -item[1].created)
        rows = [("REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE")] + [
            (name, tag, local.image_id, _age(time.time() - local.created), f"{len(local.image.layer) / 1e6:.1f}MB")
            for (name, tag), local in listed]
        widths = [max(len(row[column]) for row in rows) for column in range(5)]
        say("".join("   ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() + "\n"
                    for row in rows))

    def _image(self, args: list[str], *rest: Any) -> None:
        if args[:1] in (["ls"], ["list"]):
            self._images(args[1:], *rest)
            return
        raise DockerError(f"docker image {' '.join(args[:1])}: not emulated")

    def _tag(self, args: list[str], cwd: str, uid: int, stdin: str, say: Callable[..., None]) -> None:
        if len(args) != 2:
            raise DockerError('"docker tag" requires exactly 2 arguments.')
        with self._lock:
            source = self.images.get(_name_and_tag(args[0]))
            if source is None:
                raise DockerError(f"Error response from daemon: No such image: {args[0]}")
            self.images[_name_and_tag(args[1])] = source

    def _login(self, args: list[str], cwd: str, uid: int, stdin: str, say: Callable[..., None]) -> None:
        options = _options("login", args, (("--username", "-u"), {}), (("--password-stdin",), {"action": "store_true"}),
                           (("--password", "-p"), {}), (("server",), {}))
        password = (stdin if options.password_stdin else options.password or "").strip()
        key = self.caller_of(password) if options.username == "AWS" and REGISTRY.match(options.server) else None
        if key is None:
            raise DockerError(f"Error response from daemon: login attempted to https://{options.server}/v2/ failed "
                              f"with status: 400 Bad Request")
        with self._lock:
            self.logins[(uid, options.server)] = key
        home = "/root" if uid == 0 else "/home/<user>"
        say(f"WARNING! Your password will be stored unencrypted in {home}/.docker/config.json.\n", "err")
        say("Login Succeeded\n")

    def _push(self, args: list[str], cwd: str, uid: int, stdin: str, say: Callable[..., None]) -> None:
        if len(args) != 1:
            raise DockerError('"docker push" requires exactly 1 argument.')
        name, tag = _name_and_tag(args[0])
        registry, _, repository = name.partition("/")
        with self._lock:
            local = self.images.get((name, tag))
            key = self.logins.get((uid, registry))
        if local is None:
            raise DockerError(f"An image does not exist locally with the tag: {name}")
        say(f"The push refers to repository [{name}]\n")
        found = REGISTRY.match(registry)
        if not found or key is None:
            raise DockerError("no basic auth credentials")
        why = self.reaches_registry()
        if why:
            raise DockerError(f'Get "https://{registry}/v2/": dial tcp: i/o timeout ({why})')
        try:
            pushed = images.push_image(key.client("ecr", found.group(2)), repository, local.image, tag)
        except ClientError as error:
            code, message = error.response["Error"].get("Code", ""), error.response["Error"].get("Message", "")
            if code in ("AccessDeniedException", "AccessDenied"):
                raise DockerError(f"denied: {message}") from None
            if code == "RepositoryNotFoundException":
                raise DockerError(f"name unknown: The repository with name '{repository}' does not exist in the "
                                  f"registry with id '{found.group(1)}'") from None
            raise DockerError(f"{code}: {message}") from None
        say(f"{local.image_id}: Pushed\n{tag}: digest: {pushed} size: {len(json.dumps(local.image.manifest()))}\n")

    def _version(self, args: list[str], cwd: str, uid: int, stdin: str, say: Callable[..., None]) -> None:
        say("Client: local AWS docker command line\nServer: local AWS Docker engine (build, images, tag, login, "
            "push)\n")
