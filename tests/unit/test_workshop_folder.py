"""`--workshop DIR`: the suite verifies the workshop folder it is pointed at; a folder that is not one is a
clear usage error before anything runs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from suite.workshop_folder import MEMBERS, NotAWorkshopFolder, REPOSITORY_WORKSHOP, WorkshopFolder, point_at
from tests.support.forked_pytest import run_pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_repositorys_workshop_folder_holds_every_part():
    assert WorkshopFolder(REPOSITORY_WORKSHOP).missing() == []
    assert set(MEMBERS) == {"template.yaml", "rotation", "labs", "docker", "app"}


def test_a_folder_without_a_template_is_refused_naming_what_a_workshop_holds(tmp_path, monkeypatch):
    monkeypatch.delenv("SMDEMO_WORKSHOP_DIR", raising=False)
    with pytest.raises(NotAWorkshopFolder, match="no template.yaml in .*holds template.yaml, rotation/?"):
        point_at(str(tmp_path))
    with pytest.raises(NotAWorkshopFolder, match="no such directory"):
        point_at(str(tmp_path / "absent"))


def test_a_wrong_workshop_option_stops_the_run_with_one_line(tmp_path):
    done = run_pytest(["-m", "offline", "tests/template", "-q", "-p", "no:cacheprovider", "--workshop",
                       str(tmp_path / "absent")], cwd=ROOT, env=os.environ, timeout=120)
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"--workshop {tmp_path / 'absent'}: no such directory" in done.stderr
