"""localaws.hosts.images: `docker build` without a Docker engine, of the workshop's docker/ directory."""
from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from localaws.hosts.images import ImageBuildError, build_image, digest, parse_dockerfile

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="image builds run in sandboxes, as root")
DOCKER = Path(__file__).resolve().parents[2] / "workshop" / "docker"
SCRIPTS = ("startprocesses.sh", "mysql.oldway.sh", "mysql.newway.sh")


def test_parse_joins_continuations_drops_comments_and_keeps_first_line_numbers():
    text = ("# syntax comment\n"
            "\n"
            "from base:1\n"
            "RUN first \\\n"
            "    # a comment inside the instruction\n"
            "    second \\\n"
            "    third\n"
            "  ENV A=1 B=2\n"
            "CMD [\"/bin/sh\"]\n")
    parsed = [(i.keyword, i.arguments, i.line) for i in parse_dockerfile(text)]
    assert parsed == [("FROM", "base:1", 3), ("RUN", "first  second  third", 4), ("ENV", "A=1 B=2", 8),
                      ("CMD", '["/bin/sh"]', 9)]


@pytest.fixture(scope="module")
def workshop_image(tmp_path_factory):
    """docker/ built once: (members by name, the layer's tar, the image)."""
    image = build_image(DOCKER, tmp_path_factory.mktemp("build"))
    archive = tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.layer)))
    yield {member.name: member for member in archive.getmembers()}, archive, image
    archive.close()


def _text(archive: tarfile.TarFile, name: str) -> str:
    return archive.extractfile(name).read().decode()


def _ec2_user(archive: tarfile.TarFile) -> list[str]:
    entries = [line.split(":") for line in _text(archive, "etc/passwd").splitlines()]
    return next(entry for entry in entries if entry[0] == "ec2-user")


def test_layer_has_the_login_user(workshop_image):
    """image-setup.sh's useradd: ec2-user with its home and bash, in the layer's /etc/passwd."""
    _, archive, _ = workshop_image
    user = _ec2_user(archive)
    assert user[5:] == ["/home/ec2-user", "/bin/bash"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_executable_and_owned_by_ec2_user(workshop_image, script):
    """COPY --chown=ec2-user:ec2-user --chmod=0755 ... /home/ec2-user/: the files, mode 0755, owned by
    the uid and gid ec2-user has in the image."""
    members, archive, _ = workshop_image
    member = members[f"home/ec2-user/{script}"]
    user = _ec2_user(archive)
    assert (member.mode, member.uid, member.gid) == (0o755, int(user[2]), int(user[3]))
    assert archive.extractfile(member).read() == (DOCKER / script).read_bytes()


def test_sshd_settings_allow_password_login_for_ec2_user_only(workshop_image):
    members, archive, _ = workshop_image
    settings = _text(archive, "etc/ssh/sshd_config.d/50-smdemo.conf").splitlines()
    assert {"PasswordAuthentication yes", "PermitRootLogin no", "AllowUsers ec2-user"} <= set(settings)
    assert members["etc/ssh/sshd_config.d/50-smdemo.conf"].mode == 0o644


def test_no_password_and_no_host_key_is_baked_into_the_layer(workshop_image):
    """The Dockerfile's promise: ec2-user's password is locked (no hash) until the task sets it, and host keys
    are made per task, never shipped in the image."""
    members, archive, _ = workshop_image
    shadow = {line.split(":")[0]: line.split(":")[1] for line in _text(archive, "etc/shadow").splitlines()}
    assert shadow["ec2-user"].startswith("!")
    assert "$" not in shadow["ec2-user"]
    assert not [name for name in members if name.startswith("etc/ssh/ssh_host_")]


def test_config_has_the_command_the_port_and_the_layer_digest(workshop_image):
    _, _, image = workshop_image
    config = image.config["config"]
    assert config["Cmd"] == ["/home/ec2-user/startprocesses.sh"]
    assert config["ExposedPorts"] == {"22/tcp": {}}
    assert config["Env"][0].startswith("PATH=/")
    assert image.config["rootfs"]["diff_ids"] == [digest(gzip.decompress(image.layer))]
    manifest = image.manifest()
    assert manifest["config"]["digest"] == digest(image.config_bytes)
    assert manifest["layers"][0] == {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                     "size": len(image.layer), "digest": digest(image.layer)}
    assert json.loads(image.config_bytes) == image.config


@pytest.mark.parametrize("lines, line, message", [
    (["FROM base", "", "HEALTHCHECK CMD true"], 3, "HEALTHCHECK is not supported"),
    (["FROM base", "# build", "RUN echo building-step && \\", "    exit 7"], 3, "RUN exited with 7:\nbuilding-step"),
], ids=["unsupported-instruction", "failing-run"])
def test_build_errors_name_the_dockerfile_line(tmp_path, lines, line, message):
    context, work = tmp_path / "context", tmp_path / "work"
    context.mkdir()
    work.mkdir()
    (context / "Dockerfile").write_text("\n".join(lines) + "\n")
    with pytest.raises(ImageBuildError) as failed:
        build_image(context, work)
    assert str(failed.value).startswith(f"{context / 'Dockerfile'}:{line}: ")
    assert message in str(failed.value)
    assert not list(work.iterdir())  # the build's scratch root is removed
