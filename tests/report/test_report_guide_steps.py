"""The report reads like the guide: each check's guide step in a sortable column that opens in the
guide's order, the guide's steps in order with their checks, the pytest node id a detail; a check
of a phase that names no step, or a step the guide does not have, fails collection."""
from __future__ import annotations

import os
import html
import re

import pytest

from suite.report.guide_steps import BEFORE, BEYOND, BY_NAME, STEPS, check_title
from suite.report.phases import folders
from tests.support import synthetic_project as synthetic
from tests.support.forked_pytest import run_pytest

RDS_CHECK_1 = "tests/rds/test_rds_checks.py::test_rds_check_1"
PLAIN = "tests/unit/test_plain.py::test_a_project_test_names_no_step"


@pytest.fixture(scope="module")
def guided(tmp_path_factory):
    """Both modes, Fargate failing, and one project test (no step, outside the phases' folders)."""
    root = tmp_path_factory.mktemp("guided")
    synthetic.write_project(root, failing=("fargate",))
    (root / "tests" / "unit").mkdir()
    (root / "tests" / "unit" / "test_plain.py").write_text("def test_a_project_test_names_no_step():\n    pass\n")
    return synthetic.run(root, marks="")  # every test: the project test has no mode


def results_cell(run: synthetic.SyntheticRun, nodeid: str, column: str) -> str:
    return run.report_data()["tests"][nodeid][0][column]


def test_results_table_has_a_guide_step_column_sorted_in_the_guides_order(guided):
    page = guided.html.read_text(encoding="utf-8")
    assert ('<th class="sortable" data-column-type="result">Result</th><th class="sortable" '
            'data-column-type="guideStep">Guide step</th><th class="sortable" data-column-type="testId">Check</th>'
            in re.sub(r">\s+<", "><", page))
    assert guided.report_data()["initialSort"] == "guideStep"  # the results open in the guide's order
    shown = {nodeid: tests[0]["guideStep"] for nodeid, tests in guided.report_data()["tests"].items()}
    assert shown[f"{RDS_CHECK_1}[offline]"] == (f'<span hidden>{BY_NAME["RDS 4"].sort_key}</span>'
                                                f'{html.escape(BY_NAME["RDS 4"].label)}')
    assert shown[PLAIN] == f"<span hidden>{len(STEPS):03d}</span>—"  # no step: after every step
    keys = sorted(shown.values())  # as pytest-html sorts: by the cell's HTML, the hidden key first
    labels = [html.unescape(key.split("</span>", 1)[1]) for key in keys]
    in_guide = [step.label for step in STEPS]
    assert [in_guide.index(label) for label in labels[:-1]] == sorted(in_guide.index(label) for label in labels[:-1])


def test_steps_table_shows_the_guides_steps_in_order_with_their_checks(guided):
    table = guided.html.read_text(encoding="utf-8").split('<table class="workshop-guide">', 1)[1].split("</table>")[0]
    steps = [html.unescape(label) for label in re.findall(r'class="guide-step[^"]*">(.*?)<div', table)]
    assert steps == [step.label for step in STEPS if step.phase != BEYOND]  # no check is beyond the guide here
    assert table.index("RDS check 2") < table.index("RDS check 1")  # RDS 3 before RDS 4, not the files' order
    assert 'class="guide-step status-failed">Fargate phase, step 6:' in table
    assert '<tr class="step-unchecked"><th rowspan="1" class="guide-step status-not-run">RDS phase, step 1:' in table
    assert "no check of its own" in table and "test_a_project_test" not in table


def test_node_id_is_a_detail_of_the_check(guided):
    assert results_cell(guided, f"{RDS_CHECK_1}[live]", "testId") == (
        f'RDS check 1 [live]<div class="check-nodeid">{RDS_CHECK_1}[live]</div>')
    assert f'<td title="{RDS_CHECK_1}">RDS check 1</td>' in guided.html.read_text(encoding="utf-8")


def test_project_tests_need_no_step(guided):
    assert f"PASSED {PLAIN}" in guided.terminal


@pytest.mark.parametrize("marker, message", [
    ("@pytest.mark.guide_step('RDS 9')", "guide_step('RDS 9') names no step of the guide; the steps"),
    ("@pytest.mark.guide_step('RDS 4', 'Rotate')", 'write @pytest.mark.guide_step("<phase> <number>")'),
    ("", "test_rds_check_1[offline] verifies no guide step: add @pytest.mark.guide_step"),
])
def test_an_unknown_or_missing_step_fails_collection(tmp_path, marker, message):
    synthetic.write_project(tmp_path)
    checks = tmp_path / "tests" / "rds" / "test_rds_checks.py"
    checks.write_text(checks.read_text().replace("@pytest.mark.guide_step('RDS 4')", marker, 1))
    run = synthetic.run(tmp_path, marks="offline")
    assert run.returncode == pytest.ExitCode.INTERRUPTED, run.terminal[-3000:]
    assert "ERROR collecting tests/rds/test_rds_checks.py" in run.terminal and message in run.terminal, run.terminal
    assert "NOT READY: failed: RDS" in run.verdict_line


def test_every_check_of_the_workshop_names_its_step():
    """The suite's own phases collect: each of their checks names a step the guide has."""
    done = run_pytest(["--collect-only", "-q", "-m", "offline or live", *folders()],
                      cwd=synthetic.PROJECT_ROOT, env=os.environ, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "tests collected" in done.stdout


def test_steps_are_named_once_and_read_as_the_guide():
    assert len(BY_NAME) == len(STEPS)
    assert BY_NAME["RDS 4"].label.startswith("RDS phase, step 4: Rotate the secret immediately")
    assert BY_NAME[f"{BEYOND} 4"].label.startswith(f"{BEYOND}: no secret value")
    assert BY_NAME[f"{BEFORE} 1"].label.startswith(f"{BEFORE}, step 1: cfn-lint")
    assert [step.phase for step in STEPS] == sorted((step.phase for step in STEPS), key=[
        BEFORE, "RDS", "Fargate", "TLS user", "App", "Audit", BEYOND].index)
    assert check_title("tests/rds/x.py::test_old_way_fails[offline]") == "Old way fails [offline]"
    assert check_title("tests/audit/x.py::test_ecs_8_no_secret_in_a_task_environment") == (
        "ECS 8 no secret in a task environment")
