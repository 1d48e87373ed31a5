"""The instructor report: one page that says whether the workshop works, and why to believe it.

On top of pytest-html's report: the verdict (READY / NOT READY, naming the phases that
failed), a table of the phases (RDS, Fargate, Audit) by mode with their counts and time,
the run's facts (suite/report/runfacts.py) as the environment table, each check's evidence
(suite/report/evidence.py), and the guide's steps in order with each check's result in every mode
(suite/report/guide_view.py); the results table says each check's guide step and opens in the
guide's order. A check in a phase's folder must name its step (suite/report/guide_steps.py), or
its module fails to collect.
The verdict is also the terminal's last line and a JUnit testsuite property. Offline, it and the
environment table say what the local AWS was given and does not model (localaws/ext/cfn_not_modelled.py).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from suite.report import board as targets_board, guide_steps, guide_view
from suite.report import html as reporthtml
from suite.report.phases import PHASES, OUTCOMES, Ledger, PhaseRow, Verdict, mode_of, phase_of
from suite.interrupts import INTERRUPTS
from suite.preflight import LOCAL_AWS_PROBLEMS_KEY, environment_problem
from suite.redaction import REGISTRY
from suite.account_snapshot import CHANGED_KEY
from suite.teardown import LEFT_BEHIND_KEY
from suite.report.runfacts import FACTS_KEY, environment, not_modelled

TITLE = "Secrets Manager workshop verification"
CSS = Path(__file__).with_name("report.css")
PYTEST_METADATA = {"Python", "Platform", "Packages", "Plugins"}  # replaced by the run's own facts
log = logging.getLogger("workshop.report")


@pytest.hookimpl(tryfirst=True)  # before pytest-html reads its --css list
def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("htmlpath", None):
        config.option.css = [*config.option.css, str(CSS)]
    config.pluginmanager.register(InstructorReport(), "smdemo-instructor-report")


class InstructorReport:
    def __init__(self) -> None:
        self.ledger = Ledger()
        self.started = time.time()
        self.duration = 0.0
        self.verdict: Verdict | None = None
        self.board: list[targets_board.BoardRow] = []  # --targets / --accounts: a row per target
        self.html_data: Any = None  # pytest-html's ReportData, when an HTML report is written
        self.not_modelled: list[str] = []  # what the local AWS was given and does not model

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """A Ctrl-C that lands in an import (the local AWS starts while pytest collects) can leave a traceback
        entry with no line number (Python 3.11's frozen importlib), on which pytest's own rendering of the
        interrupt raises TypeError and the verdict is never said: such entries are unlinked first."""
        try:
            entry = excinfo.tb
            while entry is not None and entry.tb_next is not None:
                if entry.tb_next.tb_lineno is None:
                    entry.tb_next = entry.tb_next.tb_next
                else:
                    entry = entry.tb_next
        except Exception:  # noqa: BLE001 - best effort: pytest renders what is left as it would have
            pass

    # --- what ran
    @pytest.hookimpl(wrapper=True)
    def pytest_pycollect_makeitem(self, collector: pytest.Collector, name: str, obj: object) -> Any:
        """A check of a phase names the guide step it verifies; any check's step is one the guide has."""
        made = yield
        for item in made if isinstance(made, list) else [made]:
            if isinstance(item, pytest.Function):
                if guide_steps.step_of(item) is None and phase_of(item.nodeid) in PHASES:
                    raise guide_steps.unmarked(item)
        return made

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            self.ledger.collected(item.nodeid, mode_of(item),
                                  guide_steps.step_of(item))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.ledger.collection_error(report.nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        """The check's mode and guide step travel with its report: under pytest-xdist the process that writes
        the report (the controller) collects nothing itself and learns the checks from their reports."""
        report = yield
        step = guide_steps.step_of(item)
        report.check_mode, report.guide_step = mode_of(item), step.name if step else None
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.ledger.checks:  # a worker's check (pytest-xdist)
            self.ledger.collected(report.nodeid, getattr(report, "check_mode", None),
                                  guide_steps.BY_NAME.get(getattr(report, "guide_step", None) or ""))
        self.ledger.record(report.nodeid, report.when, report.outcome, report.duration)

    # --- the verdict, before JUnit and pytest-html write their files
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if session.config.option.collectonly:  # nothing ran, by request: no verdict to give
            return
        self.duration = time.time() - self.started
        self.not_modelled = not_modelled(session.config.stash.get(FACTS_KEY, {}))
        if self.not_modelled:  # once per run, in the log
            log.warning("not modelled offline (%d): %s", len(self.not_modelled), ", ".join(self.not_modelled))
        self.verdict = self.ledger.verdict(environment_problem(session.config),
                                           session.config.stash.get(LEFT_BEHIND_KEY, None), INTERRUPTS.said(),
                                           session.config.stash.get(CHANGED_KEY, None), self.not_modelled)
        INTERRUPTS.verdict_given = True  # a signal from now on interrupts nothing (suite/interrupts.py)
        # Live aimed at something that is not AWS must say so where the verdict is read.
        elsewhere = [f"{mode} ran against {facts.aws_endpoint}" for mode, facts in
                     session.config.stash.get(FACTS_KEY, {}).items() if "not AWS" in facts.aws_endpoint]
        if elsewhere:
            self.verdict = dataclasses.replace(self.verdict, reason="; ".join([self.verdict.reason, *elsewhere]))
        self.board = targets_board.board(session.config, self.ledger, INTERRUPTS.said())
        if self.board:  # many targets: READY only when every target is (suite/report/board.py)
            self.verdict = targets_board.overall(self.board)
            session.exitstatus = targets_board.exit_status(self.board, session.exitstatus)
        try:
            from _pytest.junitxml import xml_key
        except ImportError:  # pragma: no cover - pytest moved it; the report still has the verdict
            return
        junit = session.config.stash.get(xml_key, None)
        if junit is not None:
            junit.add_global_property("workshop_verdict", self.verdict.line)
            for target in self.board:
                junit.add_global_property(f"workshop_verdict:{target.name}", target.verdict.line)
            for row in self.ledger.rows():
                junit.add_global_property(f"phase {_row_name(row)}", f"{row.status}; {_counts(row)}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.verdict is None:
            return
        if self.board:
            terminalreporter.write_sep("-", "targets")
            for line in targets_board.terminal_lines(self.board):
                terminalreporter.write_line(line)
        if not self.verdict.ran:
            terminalreporter.write_sep("=", f"workshop verdict: {self.verdict.line}", bold=True, red=True)
            return
        if not any(check.phase in PHASES for check in self.ledger.checks.values()) and not (
                INTERRUPTS.said() and not self.ledger.checks):  # interrupted while collecting: it says so
            return  # only the project's own tests ran: there is no workshop verdict to give
        for mode, problems in terminalreporter.config.stash.get(LOCAL_AWS_PROBLEMS_KEY, {}).items():
            terminalreporter.write_sep("-", f"what went wrong inside the local AWS ({mode})", red=True)
            terminalreporter.write_line(REGISTRY.mask(problems))
        if self.not_modelled:  # what offline could not prove, each on a line of its own
            terminalreporter.write_sep("-", f"not modelled offline ({len(self.not_modelled)}): the local AWS was given "
                                            "these settings and does not apply them")
            for setting in self.not_modelled:
                terminalreporter.write_line(f"  {setting}")
        terminalreporter.write_sep("-", "workshop phases")
        for row in self.ledger.rows():
            terminalreporter.write_line(f"{_row_name(row):<28} {row.status:<11} {_counts(row)}; {row.duration:.1f} s")
        terminalreporter.write_sep("=", f"workshop verdict: {self.verdict.line}", bold=True,
                                   green=self.verdict.ready, red=not self.verdict.ready)

    # --- pytest-html
    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report: Any) -> None:
        self.html_data = report
        report.title = TITLE
        report.set_data("initialSort", guide_view.COLUMN)  # the results read in the guide's order

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        guide_view.results_header(cells)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: Any, cells: list[str]) -> None:
        check = self.ledger.checks.get(report.nodeid)
        guide_view.results_row(cells, check.step if check else None, report.nodeid, report.when)

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list, summary: list, postfix: list, session: Any) -> None:
        if self.verdict is None or self.html_data is None:
            return
        self.html_data.title = f"{self.verdict.headline}: {TITLE}"
        facts = session.config.stash.get(FACTS_KEY, {})
        own = environment(facts, self.duration, self.not_modelled)
        kept = {key: value for key, value in self.html_data.data.get("environment", {}).items()
                if key not in PYTEST_METADATA and key not in own}
        # pytest-html inserts environment values as HTML: escape (and mask) them.
        self.html_data.set_data("environment", {key: reporthtml.text(value) for key, value in {**own, **kept}.items()})
        prefix.append(self._verdict_html(own))
        if self.board:
            prefix.append(targets_board.html_table(self.board))
        for mode, problems in session.config.stash.get(LOCAL_AWS_PROBLEMS_KEY, {}).items():
            prefix.append(f'<h2>What went wrong inside the local AWS ({reporthtml.text(mode)})</h2>'
                          f'<pre class="local-aws-problems">{reporthtml.text(problems)}</pre>')
        prefix.append(self._phases_html())
        prefix.append(guide_view.steps_table(self.ledger))  # before pytest-html's filters, which belong to its table

    def _verdict_html(self, own: dict[str, str]) -> str:
        assert self.verdict is not None
        state = "ready" if self.verdict.ready else "not-ready"
        facts = " · ".join(f"{label}: {own[label]}" for label in ("Mode", "Region", "Account", "Stack", "Run duration"))
        return (f'<div id="workshop-verdict" class="verdict-{state}">'
                f'<span class="verdict-headline">{self.verdict.headline}</span> '
                f'<span class="verdict-reason">{reporthtml.text(self.verdict.told.removeprefix(":").strip())}</span>'
                f'<div class="verdict-facts">{reporthtml.text(facts)}</div></div>')

    def _phases_html(self) -> str:
        rows = self.ledger.rows()
        cells = [[row.phase, row.mode or "—", row.status, *(row.counts[outcome] for outcome in OUTCOMES),
                  f"{row.duration:.1f} s"] for row in rows]
        headers = ["Phase", "Mode", "Result", "Passed", "Failed", "Errors", "Skipped", "Not finished", "Time"]
        return "<h2>Phases</h2>" + reporthtml.table(headers, cells, "workshop-phases",
                                                     [f"status-{row.status.replace(' ', '-')}" for row in rows])


def _row_name(row: PhaseRow) -> str:
    return f"{row.phase} ({row.mode})" if row.mode else row.phase


def _counts(row: PhaseRow) -> str:
    return ", ".join(f"{row.counts[outcome]} {outcome}" for outcome in OUTCOMES if row.counts[outcome]) or "no checks"
