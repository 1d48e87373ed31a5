"""docker/: the Dockerfile hadolint-clean, the scripts shellcheck-clean (at every level: the Template phase fails on
errors only), and startprocesses.sh hands every TASKDEF_ variable to login shells intact."""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import uuid
from pathlib import Path

import pytest

from localaws.hosts.sandbox import DEFAULT_PATH, Sandbox
from suite.controls import linters

DOCKER = Path(__file__).resolve().parents[2] / "workshop" / "docker"
SOURCE = "/opt/smdemo-src"  # docker/, bound read-only into the sandbox
PROFILE = "etc/profile.d/ecs.sh"
# Values a task definition may carry (TASKDEF_SECRET is the workshop's): every character the shell
# treats specially, quotes of both kinds, whitespace at the ends, tabs, newlines, an empty value.
TASKDEF = {
    "TASKDEF_SINGLE_QUOTES": "it's 'quoted' '' '\\''",
    "TASKDEF_SPECIALS": "` $HOME ${HOME} $(id) \" \\ \\\\ \\n ; & && | < > * ? [a] {b,c} ~ # ! %s %%",
    "TASKDEF_SPACES": "  leading and trailing  ",
    "TASKDEF_TABS": "\tbefore\tand after\t",
    "TASKDEF_NEWLINES": "line one\nline two\n\n",
    "TASKDEF_EMPTY": "",
    "TASKDEF_DASHES": "-n -e \\c",
    "TASKDEF_UTF8": "pässwörd ✓",
    "TASKDEF_SECRET": json.dumps({"username": "admin", "password": "p'a\"s$s`w\\o rd\t!"}),
}
# Not TASKDEF_ variables: none of them may reach the profile.
OTHERS = {"NOT_TASKDEF": "other-1", "TASKDEF": "other-2", "XTASKDEF_Y": "other-3", "taskdef_lower": "other-4"}
DUMP = ("python3 -c 'import json, os; print(json.dumps({k: v for k, v in os.environ.items() "
        "if k.upper().startswith((\"TASKDEF\", \"NOT_\", \"XTASKDEF\", \"EC2_\"))}))'")
SHELLS = {
    "bash-login": ["bash", "-lc", DUMP],
    "sh-dot": ["sh", "-c", f". /{PROFILE} && {DUMP}"],
    "dash-dot": ["dash", "-c", f". /{PROFILE} && {DUMP}"],
    "bash-posix-dot": ["bash", "--posix", "-c", f". /{PROFILE} && {DUMP}"],
}


def test_dockerfile_has_no_hadolint_finding_at_any_level():
    """The Template phase fails on hadolint's errors; this project's Dockerfile has no finding at all."""
    assert [str(f) for f in linters.hadolint(DOCKER / "Dockerfile", DOCKER.parent)] == []


def test_scripts_have_no_shellcheck_finding_at_any_level():
    """The Template phase fails on shellcheck's errors; this project's scripts have no finding at all."""
    scripts = linters.shell_scripts(DOCKER.parent)
    assert {path.name for path in DOCKER.glob("*.sh")} <= {path.name for path in scripts}
    assert [str(f) for f in linters.shellcheck(scripts, DOCKER.parent)] == []


@pytest.fixture(scope="module")
def container(tmp_path_factory):
    """A sandbox set up as the image (image-setup.sh), then startprocesses.sh run in it with the TASKDEF_ values,
    other variables and a password, as ECS starts the container, with sshd replaced by a stub that returns."""
    if os.geteuid() != 0:
        pytest.skip("sandboxes run as root")
    work = tmp_path_factory.mktemp("container")
    sshd = work / "sshd"
    sshd.write_text('#!/bin/sh\necho "sshd stub: $*"\n')
    sshd.chmod(0o755)
    box = Sandbox(work / "root", hostname="ip-127-0-0-1").prepare()
    binds = [(str(DOCKER), SOURCE), (str(sshd), "/usr/sbin/sshd")]
    setup = box.run([f"{SOURCE}/image-setup.sh"], {"PATH": DEFAULT_PATH}, extra_binds=binds, timeout=60)
    assert setup.returncode == 0, setup.stdout.decode()
    password = f"pw-{uuid.uuid4().hex}"
    env = {"PATH": DEFAULT_PATH, **TASKDEF, **OTHERS, "EC2_USER_PASSWORD": password}
    started = box.run([f"{SOURCE}/startprocesses.sh"], env, extra_binds=binds, timeout=60)
    assert started.returncode == 0, started.stdout.decode()
    yield {"box": box, "output": started.stdout.decode(), "password": password, "binds": binds}
    box.remove()


@pytest.mark.parametrize("shell", SHELLS.values(), ids=SHELLS.keys())
def test_login_and_posix_shells_get_every_taskdef_value_back_byte_for_byte(container, shell):
    """`ssh ec2-user@task` opens a login shell (bash -l reads /etc/profile.d/*.sh); dash and POSIX sh sourcing
    the profile read the same values: the export lines are valid POSIX single-quoting."""
    read = container["box"].run(shell, {"PATH": DEFAULT_PATH}, extra_binds=container["binds"], timeout=30)
    assert read.returncode == 0, read.stdout.decode()
    seen = json.loads(read.stdout.decode().strip().splitlines()[-1])
    assert {name: value.encode() for name, value in seen.items()} == {
        name: value.encode() for name, value in TASKDEF.items()}


def test_profile_exports_taskdef_variables_only(container):
    """Only names matching TASKDEF_[A-Za-z0-9_]+ are written: other variables, and the password, never are."""
    profile = container["box"].root / PROFILE
    text = profile.read_text()
    assert set(re.findall(r"^export (\w+)=", text, re.MULTILINE)) == set(TASKDEF)
    for name, value in OTHERS.items():
        assert f"export {name}=" not in text and value not in text
    assert "EC2_USER_PASSWORD" not in text and container["password"] not in text
    assert stat.S_IMODE(profile.stat().st_mode) == 0o644


def test_password_is_set_from_the_task_and_the_account_unlocked(container):
    """startprocesses.sh sets ec2-user's password from EC2_USER_PASSWORD (chpasswd) and unlocks the account."""
    shadow = (container["box"].root / "etc/shadow").read_text().splitlines()
    field = next(line.split(":")[1] for line in shadow if line.startswith("ec2-user:"))
    assert field.startswith("$") and container["password"] not in field


def test_host_keys_are_published_then_sshd_runs_in_the_foreground(container):
    """The task's log shows its SSH host keys between the markers the suite reads, then sshd -D -e starts."""
    lines = container["output"].splitlines()
    begin, end = lines.index("-----BEGIN SSH HOST KEY KEYS-----"), lines.index("-----END SSH HOST KEY KEYS-----")
    assert any(line.startswith("ssh-ed25519 ") for line in lines[begin + 1:end])
    assert lines[-1] == "sshd stub: -D -e"


def test_newway_names_a_field_the_secret_lacks():
    """A malformed secret says what is missing, instead of handing mysql `--port=null`."""
    secret = json.dumps({"host": "127.0.0.1", "username": "smadmin", "password": "x"})
    done = subprocess.run(["bash", str(DOCKER / "mysql.newway.sh"), "-e", "select 1"], capture_output=True, text=True,
                          env={"PATH": DEFAULT_PATH, "TASKDEF_SECRET": secret}, timeout=30)
    assert done.returncode == 2, done.stderr
    assert "the secret has no 'port' field" in done.stderr
