"""A run's files go to memory when the machine has room there, and go with the run (suite/scratch.py)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from suite import scratch
from tests.support.forked_pytest import run_pytest

ROOT = Path(__file__).resolve().parents[2]


def memory_has_room() -> bool:
    return (scratch._is_tmpfs_that_runs_files(scratch.MEMORY)
            and shutil.disk_usage(scratch.MEMORY).free >= scratch.MIN_FREE_BYTES)


def test_a_folder_on_disk_is_not_taken_for_memory(tmp_path):
    if scratch._is_tmpfs_that_runs_files(tmp_path):
        pytest.skip(f"{tmp_path} is itself a tmpfs")
    assert scratch.in_memory_folder(tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_folders_of_runs_that_are_gone_are_swept_and_a_live_runs_kept(tmp_path):
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    mine, gone, reused, unowned = (tmp_path / f"{scratch.PREFIX}{pid}" for pid in (os.getpid(), ended.pid, 1, 2))
    other = tmp_path / "someone-elses"
    for folder, owner in ((mine, scratch._started(os.getpid())), (gone, "12345"), (reused, "1.00"), (unowned, None),
                          (other, None)):
        (folder / scratch.BASETEMP).mkdir(parents=True)
        if owner is not None:  # pid 1 is running, but started at another time: its pid was given again
            (folder / scratch.OWNER).write_text(owner)
    scratch._sweep_abandoned(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([mine.name, other.name])


def test_a_runs_basetemp_in_memory_is_no_longer_than_pytests_own():
    """Unix sockets live under it (the database's, in the self-tests' TMPDIRs): at most 107 bytes of path."""
    longest = scratch.MEMORY / f"{scratch.PREFIX}4194304" / scratch.BASETEMP  # the largest pid Linux gives
    assert len(str(longest)) <= len("/tmp/pytest-of-root/pytest-10000")


CHECK = """
def test_where(tmp_path):
    open({where!r}, "w").write(str(tmp_path))
"""


@pytest.mark.parametrize("given", [False, True], ids=["default", "given-basetemp"])
def test_a_runs_files_are_in_memory_and_go_with_it(tmp_path, given):
    where = tmp_path / "where"
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "test_where.py").write_text(textwrap.dedent(CHECK.format(where=str(where))))
    before = set(scratch.MEMORY.glob(f"{scratch.PREFIX}*")) if scratch.MEMORY.is_dir() else set()
    basetemp = tmp_path / "given"
    done = run_pytest(["-q", "-p", "no:cacheprovider", "-p", "suite.scratch", "-c", os.devnull,
                       *([f"--basetemp={basetemp}"] if given else []), str(tmp_path / "checks")],
                      cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    used = Path(where.read_text())
    if given:
        assert basetemp in used.parents and used.exists()  # as pytest keeps it
    elif memory_has_room():
        run_folder = scratch.MEMORY / used.relative_to(scratch.MEMORY).parts[0]
        assert run_folder.name.startswith(scratch.PREFIX), used
        assert not run_folder.exists()  # it went with the run
    else:
        assert scratch.MEMORY not in used.parents
    after = set(scratch.MEMORY.glob(f"{scratch.PREFIX}*")) if scratch.MEMORY.is_dir() else set()
    assert after <= before


SLOW_CHECK = """
import time

def test_waits(tmp_path):
    open({where!r}, "w").write(str(tmp_path))
    time.sleep(120)
"""


def test_a_runs_folder_in_memory_goes_when_the_run_is_killed(tmp_path):
    """SIGKILL leaves the run no time to clean: its remover, tied to it by a parent-death signal, does."""
    if not memory_has_room():
        pytest.skip("no tmpfs with room at /dev/shm: the run's files are where pytest keeps them")
    where = tmp_path / "where"
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "test_waits.py").write_text(textwrap.dedent(SLOW_CHECK.format(where=str(where))))
    run = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "suite.scratch",
                            "-c", os.devnull, str(tmp_path / "checks")], cwd=tmp_path,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not where.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        used = Path(where.read_text())
        run_folder = scratch.MEMORY / used.relative_to(scratch.MEMORY).parts[0]
        assert run_folder.is_dir()
    finally:
        run.kill()
        run.wait()
    deadline = time.monotonic() + 10
    while run_folder.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not run_folder.exists()
