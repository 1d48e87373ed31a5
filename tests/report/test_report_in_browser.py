"""The report as an instructor sees it: opened in headless Chromium (Debian's `chromium`, no
network), the verdict and the phase table visible on the first screen, the failing check's
evidence rendered by the report's JavaScript; a screenshot saved next to the report."""
from __future__ import annotations

import pytest

from localaws import system_tools
from localaws.system_tools import MissingSystemTool
from suite.report import browser
from tests.support import synthetic_project as synthetic

SEEN = {"verdict": "#workshop-verdict", "phases": "table.workshop-phases", "side_by_side": "table.workshop-guide",
        "failed_evidence": "tbody.failed .evidence-failed", "environment": "#environment",
        "first_step": "#results-table tbody .col-guideStep", "first_check": "#results-table tbody .col-testId"}


@pytest.fixture(scope="module")
def failing_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    synthetic.write_project(root, failing=("audit",))
    return synthetic.run(root).html


def test_verdict_and_phases_are_visible_in_chromium(failing_report):
    try:
        seen = browser.visible(failing_report, SEEN)
    except MissingSystemTool as missing:  # not a skip: scripts/setup.sh installs it
        pytest.fail(str(missing), pytrace=False)
    assert all(seen[name] and seen[name]["visible"] for name in SEEN), seen
    assert seen["verdict"]["onFirstScreen"] and seen["phases"]["onFirstScreen"], seen
    assert seen["verdict"]["text"].startswith("NOT READY failed: Audit (offline, live)"), seen["verdict"]
    assert "Audit\tlive\tfailed\t0\t2" in seen["phases"]["text"], seen["phases"]
    # the first failing check in the guide's order: check 2 verifies Audit step 2, check 1 step 3
    assert "audit step 2 works as the workshop says\tit did not, with ***" in seen["failed_evidence"]["text"]
    # The results open in the guide's order (the Template phase's "Before class 5" is the synthetic run's first),
    # the node id below the check.
    assert seen["first_step"]["text"].startswith("Before class, step 5: hadolint"), seen["first_step"]
    assert seen["first_check"]["text"] == (
        "Template check 2 [offline]\ntests/template/test_template_checks.py::test_template_check_2[offline]")


def test_screenshot_is_saved_next_to_the_report(failing_report):
    image = browser.screenshot(failing_report)
    assert image == failing_report.with_suffix(".png")
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.stat().st_size > 10_000


def test_missing_chromium_names_its_package(monkeypatch, tmp_path, failing_report):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(system_tools, "SBIN_DIRS", (str(tmp_path),))
    with pytest.raises(MissingSystemTool, match="install the Debian package 'chromium'"):
        browser.rendered_dom(failing_report)
