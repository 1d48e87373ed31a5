"""A container-like root for one process tree, made with bubblewrap (no container engine).

The host's /usr is the image's userland, read-only (it stands in for the pinned base image
and its packages). The directories a container writes to are the sandbox's own: /etc (a
copy of the host's, then the image's layers on top), /home, /root, /opt, /srv; /run,
/tmp, /var/log and /var/tmp are empty scratch space. A host's or task's sandbox has a network
namespace of its own (`own_network`), wired by localaws/network/host_wiring.py to exactly what the VPC
allows; its servers listen on a loopback address of their own, which stands in for its IP. An
image build's sandbox shares this machine's network, as `docker build` has the host's internet.
Processes run as root inside, as in a container, so the sandbox needs root.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tarfile
from pathlib import Path
from typing import IO, Mapping, Sequence

from localaws import machinery, processes
from localaws.removals import remove_later
from localaws.system_tools import require_tool

# Directories the image and the running process may write (relative to /).
WRITABLE = ("etc", "home", "root", "opt", "srv")
SCRATCH = ("run", "tmp", "var/log", "var/tmp")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SandboxError(RuntimeError):
    pass


def require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxError("the local AWS runs containers and SSH hosts in bubblewrap sandboxes as root "
                           "(they create users and run sshd): run the suite as root, e.g. with sudo")


class Sandbox:
    def __init__(self, root: Path, hostname: str = "localhost", own_network: bool = False):
        self.root = Path(root)
        self.hostname = hostname
        self.own_network = own_network
        self.process: subprocess.Popen[bytes] | None = None
        self.namespace_pid: int | None = None  # with own_network: a process in the sandbox's namespace

    def prepare(self, layers: Sequence[Path] = ()) -> "Sandbox":
        """A fresh root: the host's /etc, then each layer (a tar of image files) in order."""
        require_root()
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        # cp -a keeps owners and modes (/etc/shadow's group, for one), as an image's /etc has them.
        subprocess.run(["cp", "-a", "/etc", str(self.root / "etc")], check=True, capture_output=True)
        _forget_machine_secrets(self.root / "etc")
        for name in WRITABLE[1:]:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        (self.root / "root").chmod(0o700)
        for layer in layers:
            with tarfile.open(layer) as archive:
                archive.extractall(self.root, numeric_owner=True, filter=_layer_member)
        return self

    def _bwrap(self, extra_binds: Sequence[tuple[str, str]] = ()) -> list[str]:
        args = [require_tool(["bwrap"], "bubblewrap"), "--die-with-parent", "--unshare-pid", "--unshare-uts",
                "--unshare-ipc", *(["--unshare-net"] if self.own_network else []), "--hostname", self.hostname,
                "--tmpfs", "/", "--ro-bind", "/usr", "/usr"]
        for link in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            if os.path.islink(f"/{link}"):
                args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
            elif os.path.isdir(f"/{link}"):
                args += ["--ro-bind", f"/{link}", f"/{link}"]
        args += ["--ro-bind", "/var", "/var"]
        for name in WRITABLE:
            args += ["--bind", str(self.root / name), f"/{name}"]
        for name in SCRATCH:  # /tmp and /var/tmp are writable by every user, as in any container (1777)
            args += (["--perms", "1777"] if name.endswith("tmp") else []) + ["--tmpfs", f"/{name}"]
        args += ["--dev", "/dev", "--proc", "/proc"]
        for parent in sorted({os.path.dirname(target) for _, target in extra_binds
                              if target.startswith("/run/")} - {"/run"}):
            args += ["--perms", "0755", "--dir", parent]  # readable by every user (bwrap's own are root's only)
        for source, target in extra_binds:
            args += ["--ro-bind", source, target]
        return args

    def start(self, argv: Sequence[str], env: Mapping[str, str], stdout: IO[bytes] | int | None,
              cwd: str = "/", extra_binds: Sequence[tuple[str, str]] = ()) -> subprocess.Popen[bytes]:
        """The container's command, as PID 1's child of the sandbox (like `docker run`)."""
        # The environment goes to bwrap as its own (it hands it on), never on its command line:
        # the sandbox's /proc shows bwrap's arguments, and a container's env is not in `ps`.
        command = self._bwrap(extra_binds) + ["--chdir", cwd]
        info_read, info_write = os.pipe()
        try:
            # From the long-lived spawner thread: setpriv ties bwrap to this process, and bwrap
            # (--die-with-parent) the sandbox's processes to itself.
            self.process = processes.spawn(command + ["--info-fd", str(info_write), "--", *argv], signal="KILL",
                                           stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
                                           env={"PATH": DEFAULT_PATH, **env}, pass_fds=(info_write,))
        finally:
            os.close(info_write)
        try:
            self.namespace_pid = child_pid(info_read)
        except SandboxError as failure:  # bwrap could not make the sandbox: this machine's problem, not the workshop's
            self.stop()
            machinery.record(f"the local AWS's sandbox for {self.hostname}", str(failure))
            raise
        finally:
            os.close(info_read)
        return self.process

    def run(self, argv: Sequence[str], env: Mapping[str, str], cwd: str = "/", timeout: float = 300,
            extra_binds: Sequence[tuple[str, str]] = ()) -> subprocess.CompletedProcess[bytes]:
        """A command to completion (an image build's RUN step)."""
        process = self.start(argv, env, subprocess.PIPE, cwd, extra_binds)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise SandboxError(f"{' '.join(argv)} did not finish within {timeout:.0f} s") from None
        return subprocess.CompletedProcess(list(argv), process.returncode, output, b"")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 5) -> int | None:
        """SIGTERM (as `docker stop`), SIGKILL after the grace period; the PID namespace goes with it."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode

    def remove(self) -> None:
        self.stop()
        remove_later(self.root)


def run_inside(pid: int, shell: str, script: str, timeout: float, stdin: bytes | None = None
               ) -> subprocess.CompletedProcess[bytes]:
    """`script` run by `shell` as root in the sandbox `pid` is in: its namespaces (mount, hostname, IPC,
    network, processes) and root, as an agent in the machine runs a command (Run Command, cloud-init).
    The script changes directory itself: nsenter's --wd would name one outside the sandbox's root.
    TimeoutExpired after `timeout` seconds, as subprocess.run."""
    argv = [require_tool(["nsenter"], "util-linux"), "--target", str(pid), "--mount", "--uts", "--ipc", "--net",
            "--pid", "--root", "--", shell, "-c", script]
    return processes.run(argv, input=stdin, capture_output=True, timeout=timeout,
                         env={"PATH": DEFAULT_PATH, "HOME": "/root"})


def child_pid(info_read: int) -> int:
    """The sandbox's first process, from what bwrap writes to its --info-fd once the sandbox exists."""
    data = b""
    while b"}" not in data:
        chunk = os.read(info_read, 4096)
        if not chunk:
            raise SandboxError("bwrap ended before it said which process runs in the sandbox")
        data += chunk
    return int(json.loads(data.decode().split("}", 1)[0] + "}")["child-pid"])


def _forget_machine_secrets(etc: Path) -> None:
    """A base image has no host keys and no passwords: drop this machine's SSH host keys (each
    host and task makes its own) and its password hashes (they would end up in image layers)."""
    for key in (etc / "ssh").glob("ssh_host_*"):
        key.unlink()
    for name in ("shadow", "shadow-", "gshadow", "gshadow-"):
        path = etc / name
        if not path.is_file():
            continue
        lines = []
        for line in path.read_text().splitlines():
            fields = line.split(":")
            if len(fields) > 1 and fields[1] and not fields[1].startswith(("!", "*")):
                fields[1] = "*"
            lines.append(":".join(fields))
        path.write_text("\n".join(lines) + "\n")


def _layer_member(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """tarfile's "tar" filter refuses paths outside the root; unlike it, keep the modes as Docker does."""
    return tarfile.tar_filter(member, path).replace(mode=member.mode, deep=False)
