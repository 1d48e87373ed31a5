"""The Template phase's slow tools (cfn-lint, checkov) work in the background from the run's start.

The Template phase reads the workshop's files and needs no AWS. Its two slow tools start, each in a
process of its own at a low priority (suite/background.py), as soon as the checks begin; the deployed
phases run meanwhile (their waits leave a core idle), and the Template phase's checks run after the
RDS, Fargate and TLS user phases (suite/report/phases.py RUN_ORDER), reading what the tools found by
then. The report still lists the Template phase first, in the guide's order; each check's evidence
says how long it waited for its tool.
A pytest-xdist worker (which runs some of the checks only) starts a tool when its check asks.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from suite.controls.linters import RunningCfnLint
from suite.controls.static_scan import RunningScan
from suite.report.phases import phase_of
from suite.workshop_folder import workshop_folder

RUNNING_KEY = pytest.StashKey[dict[str, RunningCfnLint | RunningScan]]()
TOOLS = {"cfn_lint_findings": "cfn-lint", "checkov_scan": "checkov"}  # the Template fixture that reads each


def _start(tool: str, workshop: Path) -> RunningCfnLint | RunningScan:
    template = workshop / "template.yaml"
    return RunningCfnLint(template, workshop) if tool == "cfn-lint" else RunningScan(template)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """The tools whose checks are selected, started before the first check (on pytest's main thread: they die
    with it)."""
    config = session.config
    if config.option.collectonly or hasattr(config, "workerinput"):
        return
    wanted = {TOOLS[name] for item in session.items if phase_of(item.nodeid) == "Template"
              for name in getattr(item, "fixturenames", ()) if name in TOOLS}
    workshop = workshop_folder().root
    config.stash[RUNNING_KEY] = {tool: _start(tool, workshop) for tool in sorted(wanted)}


def running(config: pytest.Config, tool: str) -> RunningCfnLint | RunningScan:
    """The tool over the workshop under test: started at the run's start, or now."""
    started = config.stash.setdefault(RUNNING_KEY, {})
    if tool not in started:
        started[tool] = _start(tool, workshop_folder().root)
    return started[tool]


def started(config: pytest.Config, tool: str) -> RunningCfnLint | RunningScan | None:
    """The tool, if this run has started it (its check is selected); None otherwise."""
    return config.stash.get(RUNNING_KEY, {}).get(tool)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A tool nobody read (the run stopped before its check) is ended."""
    for tool in session.config.stash.get(RUNNING_KEY, {}).values():
        tool.stop()
