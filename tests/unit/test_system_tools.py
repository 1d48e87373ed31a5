"""A missing system program stops the offline run with one line naming the package."""
from __future__ import annotations

import pytest

from localaws import system_tools
from localaws.system_tools import MissingSystemTool, require_tool
from suite.preflight import EnvironmentProblem


@pytest.fixture()
def bare_machine(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(system_tools, "SBIN_DIRS", (str(tmp_path),))


def test_missing_database_server_names_its_package(bare_machine, tmp_path):
    from suite.targets import offline_target

    with pytest.raises(EnvironmentProblem) as missing:
        offline_target(tmp_path / "state")
    message = str(missing.value)
    assert "mariadb-server" in message and "apt-get install" in message
    assert "\n" not in message


@pytest.mark.parametrize("tool, package", [("sshd", "openssh-server"), ("bwrap", "bubblewrap")])
def test_missing_tool_message_names_the_package(bare_machine, tool, package):
    with pytest.raises(MissingSystemTool, match=f"install the Debian package '{package}'"):
        require_tool([tool], package)


def test_database_server_class_names_its_package(bare_machine, tmp_path):
    from localaws.database.server import MySQLServer

    with pytest.raises(MissingSystemTool, match="mariadb-server"):
        MySQLServer(tmp_path, "user", "password")


def test_found_tool_is_an_absolute_path():
    assert require_tool(["sh"], "dash").startswith("/")


@pytest.mark.parametrize("present, package", [(["mariadbd"], "openssh-server"), (["mariadbd", "sshd"], "bubblewrap"),
                                              (["mariadbd", "sshd", "bwrap"], "util-linux")])
def test_offline_run_names_each_missing_package(bare_machine, tmp_path, present, package):
    from suite.targets import offline_target

    for name in present:
        fake = tmp_path / name
        fake.write_text("#!/bin/sh\n")
        fake.chmod(0o755)
    with pytest.raises(EnvironmentProblem, match=f"'{package}'"):
        offline_target(tmp_path / "state")
