"""checkov's teeth on a template that opens the database to the internet. That the workshop's template meets
every check it does not skip, and gives each skip its reason, is the Template phase's check (tests/template),
over the workshop under test."""
from __future__ import annotations

import json
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from suite.controls.static_scan import (CHECKOV, CHECKOV_PYTHON, CHECKOV_TEMP, WARM_CHECKOV, ForkedScan, RunningScan,
                                        WarmCheckovUnavailable, _environment, _read)
from suite.environment import EnvironmentProblem

TEMPLATE = Path(__file__).resolve().parents[2] / "workshop" / "template.yaml"


@pytest.fixture(scope="module")
def open_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workshop's template with its database and the bastion's SSH open to the internet."""
    template = yaml.safe_load(TEMPLATE.read_text())
    resources = template["Resources"]
    resources["DBInstance"]["Properties"]["PubliclyAccessible"] = True
    resources["BastionSSHFromAdmin"]["Properties"]["CidrIp"] = "0.0.0.0/0"
    broken = tmp_path_factory.mktemp("open") / "template.yaml"
    broken.write_text(yaml.safe_dump(template, sort_keys=False))
    return broken


@pytest.fixture(scope="module")
def open_template_scanned_here(open_template: Path) -> subprocess.CompletedProcess[str]:
    """checkov started here over the open template: its exit status and output."""
    with pytest.MonkeyPatch.context() as environment:
        environment.delenv(WARM_CHECKOV, raising=False)
        return RunningScan(open_template).background.output()


def test_scan_fails_a_template_that_opens_the_database_and_ssh(open_template_scanned_here):
    """The scan has teeth: the faults the audit phase catches on the deployed stack, caught statically."""
    failed = {finding.check_id for finding in _read(open_template_scanned_here).failed}
    assert {"CKV_AWS_17", "CKV_AWS_24"} <= failed, failed


def test_a_scan_forked_from_the_warm_checkov_says_what_one_started_here_says(open_template, open_template_scanned_here,
                                                                               warm_checkov, monkeypatch):
    """The self-tests' runs fork their scans from a checkov that imported itself once (suite/controls/warm_checkov.py):
    the report is that of checkov started here, with the scan's own arguments (checkov takes their default from the
    interpreter's arguments as it loads), but for the order of each result's `evaluated_keys`: a set's, which
    differs from one interpreter to the next as their string hashes do."""
    monkeypatch.setenv(WARM_CHECKOV, warm_checkov)
    running = RunningScan(open_template)
    assert isinstance(running.background.process, ForkedScan)
    forked = running.background.output()
    assert forked.returncode == open_template_scanned_here.returncode, forked.stderr[-2000:]
    assert _keys_sorted(json.loads(forked.stdout)) == _keys_sorted(json.loads(open_template_scanned_here.stdout))


def _keys_sorted(report: Any) -> Any:
    """The report with every `evaluated_keys` list in order."""
    if isinstance(report, dict):
        return {key: sorted(value) if key == "evaluated_keys" else _keys_sorted(value) for key, value in report.items()}
    if isinstance(report, list):
        return [_keys_sorted(value) for value in report]
    return report


def test_the_warm_checkov_refuses_what_it_would_not_run_as_a_scan_started_here(warm_checkov, monkeypatch, tmp_path):
    """Another environment (checkov reads its settings from it as it loads) or another script is refused; a run
    whose warm checkov refuses, or is gone, starts checkov itself."""
    with tempfile.TemporaryFile() as output:
        for environment, argv in (({"HOME": "/root"}, [str(CHECKOV_PYTHON), str(CHECKOV)]),
                                  (_environment(), [str(CHECKOV_PYTHON), str(tmp_path / "checkov")])):
            with pytest.raises(WarmCheckovUnavailable, match="refused"):
                ForkedScan(warm_checkov, argv, output, output, environment, None)
    monkeypatch.setenv(WARM_CHECKOV, str(tmp_path / "gone"))
    running = RunningScan(TEMPLATE)
    try:
        assert isinstance(running.background.process, subprocess.Popen)
    finally:
        running.stop()


def test_a_forked_scan_nobody_reads_is_killed(warm_checkov, monkeypatch):
    """Stopped (its run ended before its check read it), the forked scan is gone, as one started here is."""
    monkeypatch.setenv(WARM_CHECKOV, warm_checkov)
    running = RunningScan(TEMPLATE)
    process = running.background.process
    assert isinstance(process, ForkedScan) and process.poll() is None
    running.stop()
    assert process.returncode == -signal.SIGKILL
    assert not Path(f"/proc/{process.pid}").exists()


def test_a_checkov_that_gives_no_report_is_this_machines_problem():
    """checkov that cannot run (its interpreter gone, a broken virtualenv) stops the run as NOT RUN: environment,
    naming it and what it said, never a Template failure blamed on the workshop."""
    with pytest.raises(EnvironmentProblem, match=r"checkov .* gave no report \(exit 126\): cannot execute.*setup\.sh"):
        _read(subprocess.CompletedProcess(["checkov"], 126, "", "cannot execute: required file not found\n"))


def test_checkov_is_run_by_its_virtualenvs_interpreter():
    """Not through the script's `#!` line, which cannot hold a path with a space (a clone under "/tmp/my clone":
    "cannot execute: required file not found"; shown by the README's first command from such a clone)."""
    running = RunningScan(TEMPLATE)
    try:
        argv = running.background.argv
        assert argv[argv.index(str(CHECKOV)) - 1] == str(CHECKOV_PYTHON), argv
    finally:
        running.stop()


def test_checkovs_jsonpath_parsers_read_the_tables_setup_wrote():
    """scripts/setup.sh writes the PLY tables bc_jsonpath_ng never writes (suite/controls/checkov_parse_tables.py):
    a JSONPath parse then builds no table. Without them the same parse builds one, 25 times per scan."""
    building_refused = (
        "import ply.yacc\n"
        "def refuse(*args, **kwargs): raise SystemExit('built the tables again')\n"
        "ply.yacc.LRGeneratedTable.__init__ = refuse\n"
        "from bc_jsonpath_ng import parse\n"
        "from bc_jsonpath_ng.ext import parse as parse_extended\n"
        "parse('$.Resources.a'); parse_extended('$.Resources[?(@.Type == \"AWS::RDS::DBInstance\")]')\n")
    done = subprocess.run([str(CHECKOV_PYTHON), "-c", building_refused], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_scan_keeps_its_parser_cache_in_checkovs_virtualenv_not_in_the_temporary_folder():
    """checkov's HCL parser (lark) keeps a grammar cache file, `.lark_cache_*.tmp`, in the temporary folder and never
    removes it (when the file is there, it reads it: one an earlier scan left in the machine's folder is removed
    first). A scan's temporary folder is checkov's own, in its virtualenv, where scripts/setup.sh built the cache:
    nothing is left in the machine's, and no scan builds the grammar again (2 s of each)."""
    for earlier in Path(tempfile.gettempdir()).glob(".lark_cache_*"):
        earlier.unlink(missing_ok=True)
    running = RunningScan(TEMPLATE)
    environment = Path(f"/proc/{running.background.process.pid}/environ").read_bytes().split(b"\0")
    running.result()
    assert f"TMPDIR={CHECKOV_TEMP}".encode() in environment
    assert list(CHECKOV_TEMP.glob(".lark_cache_*"))
    assert not list(Path(tempfile.gettempdir()).glob(".lark_cache_*"))
