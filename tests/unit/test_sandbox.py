"""localaws.hosts.sandbox: a container-like root for one process tree, made with bubblewrap."""
from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

from localaws.hosts.sandbox import DEFAULT_PATH, Sandbox, SandboxError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes run as root (they create users and run sshd)")
ENV = {"PATH": DEFAULT_PATH}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One prepared sandbox (no layers) the tests run commands in; each test writes names of its own."""
    box = Sandbox(tmp_path_factory.mktemp("sandbox") / "root", hostname="sandbox-unit").prepare()
    yield box
    box.remove()


def _sh(box: Sandbox, script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return box.run(["/bin/sh", "-c", script], env or ENV, timeout=30)


def _name() -> str:
    return f"sandbox-probe-{uuid.uuid4().hex[:8]}"


def _layer(path: Path, files: dict[str, tuple[bytes, int, int]]) -> Path:
    """A plain tar layer: name -> (content, mode, owner uid)."""
    with tarfile.open(path, "w") as archive:
        for name, (content, mode, uid) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(content), mode, uid, uid
            archive.addfile(info, io.BytesIO(content))
    return path


def _processes(pattern: str) -> list[str]:
    return subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True).stdout.splitlines()


def _unused_seconds() -> str:
    """A sleep length no other process on the machine uses, so pgrep finds the test's own."""
    return f"{900 + uuid.uuid4().int % 10**6 / 1000:.3f}"


def _eventually(condition: Callable[[], bool], timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_prepare_copies_the_hosts_etc_with_owners_and_modes(sandbox):
    """The sandbox's /etc starts as a copy of the host's, owners and modes kept (/etc/shadow's group)."""
    assert (sandbox.root / "etc/passwd").read_bytes() == Path("/etc/passwd").read_bytes()
    mine, host = (sandbox.root / "etc/shadow").stat(), Path("/etc/shadow").stat()
    assert (mine.st_mode, mine.st_uid, mine.st_gid) == (host.st_mode, host.st_uid, host.st_gid)
    assert all((sandbox.root / name).is_dir() for name in ("home", "root", "opt", "srv"))
    assert stat.S_IMODE((sandbox.root / "root").stat().st_mode) == 0o700


@pytest.mark.parametrize("directory", ["etc", "home", "root", "opt", "srv"])
def test_writes_to_writable_directories_land_in_the_sandbox_root_only(sandbox, directory):
    """The writable directories are the sandbox's own: a file written inside appears in its root, not on the host."""
    name = _name()
    done = _sh(sandbox, f"echo inside > /{directory}/{name}")
    assert done.returncode == 0, done.stdout
    assert (sandbox.root / directory / name).read_text() == "inside\n"
    assert not (Path("/") / directory / name).exists()


@pytest.mark.parametrize("directory", ["usr", "usr/bin", "bin", "var", "var/lib"])
def test_writes_outside_the_writable_directories_fail(sandbox, directory):
    """The host's userland (/usr and its links, /var) is read-only inside."""
    name = _name()
    done = _sh(sandbox, f"touch /{directory}/{name}")
    assert done.returncode != 0
    assert b"Read-only file system" in done.stdout
    assert not (Path("/") / directory / name).exists()


def test_scratch_directories_are_empty_and_private(sandbox):
    """/tmp (like /run, /var/tmp, /var/log) is empty scratch space, not the host's."""
    host_file = _name()
    (Path("/tmp") / host_file).write_text("host")
    try:
        name = _name()
        done = _sh(sandbox, f"ls -A /tmp /run /var/tmp; echo scratch > /tmp/{name}; cat /tmp/{name}")
        assert done.returncode == 0, done.stdout
        assert host_file.encode() not in done.stdout
        assert done.stdout.endswith(b"scratch\n")
        assert not (Path("/tmp") / name).exists()
    finally:
        (Path("/tmp") / host_file).unlink()


def test_command_gets_only_the_given_environment_hostname_and_cwd(sandbox, monkeypatch):
    """Like `docker run -e`: the process sees the variables it is given and no others, the sandbox's
    hostname, and the working directory asked for."""
    monkeypatch.setenv("HOST_ONLY_VARIABLE", "must-not-leak")
    done = sandbox.run(["/bin/sh", "-c", "env; hostname; pwd"], {**ENV, "GIVEN": "a value with spaces"},
                       cwd="/etc", timeout=30)
    out = done.stdout.decode()
    assert "GIVEN=a value with spaces\n" in out
    assert "HOST_ONLY_VARIABLE" not in out
    assert out.endswith("sandbox-unit\n/etc\n")


def test_environment_is_in_no_command_line_and_tmp_is_everyones(sandbox):
    """A container's environment is not on any command line its processes can read (`ps` in the
    container shows none of it), and /tmp and /var/tmp are writable by every user (mode 1777)."""
    marker = f"env-value-{_name()}"
    done = sandbox.run(["/bin/sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\000' ' '; echo; stat -c %a /tmp /var/tmp"],
                       {**ENV, "GIVEN": marker}, timeout=30)
    out = done.stdout.decode()
    assert marker not in out
    assert out.endswith("1777\n1777\n"), out


def test_stop_ends_every_process_of_the_sandbox(sandbox):
    """stop() is `docker stop`: the command and everything it started are gone, and the exit status is known."""
    pattern = f"sleep {_unused_seconds()}"
    sandbox.start(["/bin/sh", "-c", f"{pattern} & {pattern} & wait"], ENV, subprocess.DEVNULL)
    try:
        # bwrap's and sh's command lines name the pattern too: count the sleep processes themselves.
        assert _eventually(lambda: [line.split(" ", 1)[1] for line in _processes(pattern)].count(pattern) == 2)
        assert sandbox.running
    finally:
        code = sandbox.stop()
    assert code is not None and not sandbox.running
    assert _eventually(lambda: not _processes(pattern))


def test_run_that_outlives_its_timeout_is_stopped(sandbox):
    """run() is for steps that finish (an image build's RUN): one that does not is stopped and reported."""
    seconds = _unused_seconds()
    with pytest.raises(SandboxError, match="did not finish within"):
        sandbox.run(["sleep", seconds], ENV, timeout=0.5)
    assert not sandbox.running
    assert _eventually(lambda: not _processes(f"sleep {seconds}"))


def test_layers_go_on_top_of_etc_in_order_with_their_owners(tmp_path):
    """prepare(layers): each layer's files land in the root, later layers over earlier ones, numeric owners kept;
    a fresh prepare() starts again from the host's /etc."""
    first = _layer(tmp_path / "1.tar", {"opt/app/config": (b"one", 0o600, 4242), "etc/app.conf": (b"one", 0o644, 0)})
    second = _layer(tmp_path / "2.tar", {"opt/app/config": (b"two", 0o640, 4343)})
    box = Sandbox(tmp_path / "root").prepare([first, second])
    config = box.root / "opt/app/config"
    assert config.read_bytes() == b"two"
    assert (config.stat().st_uid, stat.S_IMODE(config.stat().st_mode)) == (4343, 0o640)
    assert _sh(box, "cat /etc/app.conf").stdout == b"one"
    box.prepare()
    assert not (box.root / "etc/app.conf").exists() and not config.exists()
    box.remove()
    assert not box.root.exists()


def test_layer_cannot_write_outside_the_root(tmp_path):
    """A layer entry that climbs out of the root ("../") is refused, not written on the host."""
    escape = f"../{_name()}"
    layer = _layer(tmp_path / "bad.tar", {escape: (b"x", 0o644, 0)})
    with pytest.raises(tarfile.FilterError):
        Sandbox(tmp_path / "root").prepare([layer])
    assert not (tmp_path / escape.removeprefix("../")).exists()


def test_layer_file_modes_are_kept_as_docker_keeps_them(tmp_path):
    layer = _layer(tmp_path / "modes.tar", {"srv/shared": (b"x", 0o664, 0), "opt/tool": (b"x", 0o4755, 0)})
    box = Sandbox(tmp_path / "root").prepare([layer])
    assert stat.S_IMODE((box.root / "srv/shared").stat().st_mode) == 0o664
    assert stat.S_IMODE((box.root / "opt/tool").stat().st_mode) == 0o4755


def test_own_network_has_only_its_loopback_and_reaches_nothing_outside(tmp_path):
    """A host's or task's sandbox (own_network) starts with its loopback alone: this machine's servers are
    not there until localaws/network/host_wiring.py wires a flow in; bwrap names the sandbox's first process."""
    import socket

    box = Sandbox(tmp_path / "root", hostname="netns-unit", own_network=True).prepare()
    with socket.create_server(("127.0.0.1", 0)) as outside:
        port = outside.getsockname()[1]
        try:
            probe = (f"awk -F: 'NR > 2 {{ gsub(/ /, \"\", $1); print $1 }}' /proc/net/dev; "
                     f"(exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo reached || echo unreachable")
            done = box.run(["/bin/bash", "-c", probe], ENV, timeout=30)
            assert done.stdout.decode().split() == ["lo", "unreachable"]
            assert box.namespace_pid is not None and box.namespace_pid > 0
        finally:
            box.remove()
