"""Each check's evidence in the report, both modes side by side, the run's facts, a small
report, and no registered secret in any of it (terminal, HTML, JUnit)."""
from __future__ import annotations

import base64
import hashlib

import pytest

from tests.support import synthetic_project as synthetic

MAX_REPORT_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def both_modes(tmp_path_factory):
    """One run in both modes, Fargate failing: the report every test here reads."""
    root = tmp_path_factory.mktemp("both-modes")
    synthetic.write_project(root, failing=("fargate",))
    return synthetic.run(root)


def test_evidence_is_an_html_extra_of_its_check(both_modes):
    tests = both_modes.report_data()["tests"]
    extras = tests["tests/rds/test_rds_checks.py::test_rds_check_1[offline]"][0]["extras"]
    assert [extra["format_type"] for extra in extras] == ["text", "html"]  # pytest-html's own, then ours
    shown = extras[1]["content"]
    assert "<h4>bookinfo rows read</h4>" in shown and "<td>A Tale of Two Cities</td>" in shown
    assert "<h4>SSH transcript</h4><pre>$ mysql --password=*** -e &#x27;SELECT 1&#x27;\n***</pre>" in shown
    assert "<td>rds step 1 works as the workshop says</td><td>it did, with ***</td>" in shown
    assert "evidence-passed" in shown


def test_failing_check_shows_expected_and_found_prominently(both_modes):
    failing = both_modes.report_data()["tests"]["tests/fargate/test_fargate_checks.py::test_fargate_check_1[live]"][0]
    assert 'class="evidence-expect evidence-failed"' in failing["extras"][-1]["content"]
    assert "Evidence: expected and found" in both_modes.terminal
    assert "expected: fargate step 1 works as the workshop says\n   found: it did not, with ***" in both_modes.terminal


def test_both_modes_stand_side_by_side(both_modes):
    page = both_modes.html.read_text(encoding="utf-8")
    assert "<h2>The guide, step by step</h2>" in page
    assert "<th>Guide step</th><th>Check</th><th>offline</th><th>live</th>" in page
    assert ('<td title="tests/rds/test_rds_checks.py::test_rds_check_1">RDS check 1</td>'
            '<td class="outcome-passed">passed</td><td class="outcome-passed">passed</td></tr>') in page
    assert ('<td title="tests/fargate/test_fargate_checks.py::test_fargate_check_2">Fargate check 2</td>'
            '<td class="outcome-failed">failed</td><td class="outcome-failed">failed</td>') in page
    assert "NOT READY: failed: Fargate (offline, live)" in both_modes.verdict_line


def test_environment_table_holds_the_run_facts(both_modes):
    environment = both_modes.report_data()["environment"]
    template = (synthetic.PROJECT_ROOT / "workshop" / "template.yaml").read_bytes()
    assert environment["Mode"] == "offline, live"
    assert environment["Region"] == "eu-west-1" and environment["Account"] == "111122223333"
    assert environment["Stack"] == "offline: smdemo · live: smdemo-synthetic"
    assert environment["AWS endpoint"] == ("offline: http://127.0.0.1:9 (the local AWS) · "
                                           "live: https://secretsmanager.eu-west-1.amazonaws.com")
    assert environment["Template"] == f"template.yaml sha256 {hashlib.sha256(template).hexdigest()}"
    assert environment["moto (local AWS)"] == "5.2.5"
    assert environment["Database server"].startswith("unknown (")  # nothing listens on port 9
    assert {"Python", "boto3", "Run duration", "Database endpoint"} <= set(environment)


def test_phase_table_counts_and_times_each_phase(both_modes):
    properties = both_modes.junit_properties()
    assert properties["phase RDS (offline)"] == "passed; 2 passed"
    assert properties["phase Fargate (live)"] == "failed; 2 failed"
    assert '<table class="workshop-phases">' in both_modes.html.read_text(encoding="utf-8")


def test_no_registered_secret_in_any_channel(both_modes):
    channels = {"terminal": both_modes.terminal, "html": both_modes.html.read_text(encoding="utf-8"),
                "junit": both_modes.junit.read_text(encoding="utf-8")}
    leaks = {name: synthetic.leaked(text, synthetic.SECRET, synthetic.LATE_SECRET) for name, text in channels.items()}
    assert leaks == {"terminal": [], "html": [], "junit": []}


def test_the_leak_search_sees_an_unmasked_secret():
    escaped_in_blob = "&amp;lt;td&amp;gt;Sy&amp;lt;n&amp;gt;th&amp;amp;&amp;#x27;e&amp;quot;tic $ecret"
    assert synthetic.leaked(escaped_in_blob, synthetic.SECRET) == [synthetic.SECRET]
    in_data_uri = "data:text/plain;charset=utf-8;base64," + base64.b64encode(synthetic.LATE_SECRET.encode()).decode()
    assert synthetic.leaked(in_data_uri, synthetic.LATE_SECRET) == [synthetic.LATE_SECRET]


def test_report_stays_small(tmp_path):
    """480 checks (6 phases, 2 modes), each with its evidence, a sixth failing with a traceback: under
    2 MB (about 1.2 MB; a full offline run has about 80 checks)."""
    synthetic.write_project(tmp_path, failing=("audit",), checks_per_phase=40)
    run = synthetic.run(tmp_path)
    assert "80 failed, 400 passed" in run.terminal.splitlines()[-1], run.terminal[-2000:]
    size = run.html.stat().st_size
    assert size < MAX_REPORT_BYTES, f"the report of 480 checks is {size} bytes"


def test_evidence_repr_shows_no_content():
    """A failing check's traceback shows its arguments; saferepr would cut a long one mid-secret."""
    from suite.report.evidence import Evidence

    seen = Evidence()
    seen.text("transcript", synthetic.LATE_SECRET * 20)
    seen.expect("expected", synthetic.SECRET)
    assert repr(seen) == "Evidence(1 items, 1 expectations)"
