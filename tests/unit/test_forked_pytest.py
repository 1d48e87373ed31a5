"""A run forked from the preloaded pytest (tests/support/forked_pytest.py) is what `python -m pytest` would be."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from tests.support.forked_pytest import run_pytest

CHECKS = """
import os, sys

def test_sees_its_environment_folder_and_path():
    assert os.environ["FORKED_MARK"] == "yes" and "OUTER_ONLY" not in os.environ
    assert os.getcwd() == {folder!r}
    assert sys.path[:2] == [{folder!r}, {extra!r}]

def test_fails_with_its_assert_explained():
    found = [1]
    assert len(found) == 2

def test_says_something():
    print("said to stderr", file=sys.stderr)
"""


@pytest.fixture
def checks(tmp_path):
    (tmp_path / "test_checks.py").write_text(textwrap.dedent(CHECKS.format(folder=str(tmp_path), extra="/nowhere")))
    return tmp_path


def fresh(folder, env):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s", "-c", os.devnull],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_forked_run_is_what_a_fresh_pytest_would_be(checks, monkeypatch):
    monkeypatch.setenv("OUTER_ONLY", "x")
    env = {key: value for key, value in os.environ.items() if key != "OUTER_ONLY"}
    env.update(FORKED_MARK="yes", PYTHONPATH="/nowhere")
    forked = run_pytest(["-q", "-p", "no:cacheprovider", "-s", "-c", os.devnull], checks, env, timeout=120)
    expected = fresh(checks, env)
    assert forked.returncode == expected.returncode == 1, forked.stdout + forked.stderr
    for run in (forked, expected):
        assert "1 failed, 2 passed" in run.stdout, run.stdout
        assert "assert 1 == 2" in run.stdout and "where 1 = len([1])" in run.stdout, run.stdout  # rewritten
        assert "said to stderr" in run.stderr
    assert "PytestAssertRewriteWarning" not in forked.stdout + forked.stderr  # nothing it rewrites was preloaded


def test_a_run_past_its_timeout_is_killed(tmp_path):
    (tmp_path / "test_slow.py").write_text("import os, time\n\ndef test_slow():\n"
                                           f"    open({str(tmp_path / 'pid')!r}, 'w').write(str(os.getpid()))\n"
                                           "    time.sleep(120)\n")
    began = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_pytest(["-q", "-p", "no:cacheprovider", "-c", os.devnull], tmp_path, dict(os.environ), timeout=5)
    assert time.monotonic() - began < 60
    assert not psutil.pid_exists(int((tmp_path / "pid").read_text()))


def test_a_forked_run_finds_what_the_forkserver_imported_frozen(tmp_path):
    """Its full collections skip the forkserver's preloaded modules (tests/support/frozen_heap.py), which a fresh
    pytest's would scan (it freezes nothing of its own here: no project conftest)."""
    (tmp_path / "test_frozen.py").write_text("import gc\n\ndef test_frozen():\n"
                                             "    print('frozen', gc.get_freeze_count())\n")
    forked = run_pytest(["-q", "-p", "no:cacheprovider", "-s", "-c", os.devnull], tmp_path, dict(os.environ),
                        timeout=120)
    expected = fresh(tmp_path, dict(os.environ))
    assert int(forked.stdout.split("frozen ")[1].split()[0]) > 100_000, forked.stdout
    assert "frozen 0\n" in expected.stdout, expected.stdout
