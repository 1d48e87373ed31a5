"""The report read as the guide: each check's step in pytest-html's results table, and the
guide's steps in order with their checks' outcomes in every mode.

A check is named by its function, read as words; its pytest node id is a detail (a small line
in the results table, a tooltip in the steps table). Every value goes through
`suite.report.html.text` (masked, then escaped).
"""
from __future__ import annotations

from collections import Counter

from suite.report import html as reporthtml
from suite.report.guide_steps import UNMARKED_SORT_KEY, Step, check_title
from suite.report.phases import Ledger, PhaseRow, mode_key

COLUMN = "guideStep"  # pytest-html's column type: the key it sorts by, and the class col-guideStep
HEADER = f'<th class="sortable" data-column-type="{COLUMN}">Guide step</th>'
NO_STEP = "—"


def results_header(cells: list[str]) -> None:
    """The guide step after the result; "Test" becomes "Check"."""
    cells.insert(1, HEADER)
    cells[:] = [cell.replace(">Test<", ">Check<") if 'data-column-type="testId"' in cell else cell for cell in cells]


def results_row(cells: list[str], step: Step | None, nodeid: str, when: str) -> None:
    """pytest-html sorts a column by its cell's HTML: a hidden key first puts the rows in the guide's order.
    Cells stay on one line (pytest-html reads them with a single-line pattern)."""
    key = step.sort_key if step else UNMARKED_SORT_KEY
    cells.insert(1, f'<td class="col-{COLUMN}"><span hidden>{key}</span>'
                 f'{reporthtml.text(step.label if step else NO_STEP)}</td>')
    shown = nodeid if when in ("call", "collect") else f"{nodeid}::{when}"  # as pytest-html names a setup error
    cells[:] = [f'<td class="col-testId">{reporthtml.text(check_title(nodeid))}'
                f'<div class="check-nodeid">{reporthtml.text(shown)}</div></td>'
                if cell.startswith('<td class="col-testId">') else cell for cell in cells]


def steps_table(ledger: Ledger) -> str:
    """One row per check, under its step (the step's cell spans its checks), a column per mode."""
    grouped = ledger.by_step()
    if not grouped:
        return ""
    modes = sorted({mode for _, checks in grouped for outcomes in checks.values() for mode in outcomes}, key=mode_key)
    rows = []
    for step, checks in grouped:
        statuses = {mode: PhaseRow(step.phase, mode, Counter(outcomes[mode] for outcomes in checks.values()
                                                             if mode in outcomes)).status for mode in modes}
        worst = next((status for status in ("failed", "unfinished", "passed", "skipped")
                      if status in statuses.values()),
                     "not-run")
        said = "" if not checks else " · ".join(f"{mode}: {status}" for mode, status in statuses.items()) \
            if len(modes) > 1 else next(iter(statuses.values()), "")
        step_cell = (f'<th rowspan="{max(len(checks), 1)}" class="guide-step status-{worst.replace(" ", "-")}">'
                     f'{reporthtml.text(step.label)}<div class="step-status">{reporthtml.text(said)}</div></th>')
        if not checks:
            rows.append(f'<tr class="step-unchecked">{step_cell}<td colspan="{len(modes) + 1}">'
                        f'no check of its own</td></tr>')
        for index, (name, outcomes) in enumerate(checks.items()):
            cells = "".join(f'<td class="outcome-{outcomes.get(mode, "none").replace(" ", "-")}">'
                            f'{reporthtml.text(outcomes.get(mode, NO_STEP))}</td>' for mode in modes)
            differ = ' class="modes-differ"' if len({outcomes.get(mode) for mode in modes}) > 1 else ""
            rows.append(f'<tr{differ}>{step_cell if index == 0 else ""}'
                        f'<td title="{reporthtml.text(name)}">{reporthtml.text(check_title(name))}</td>{cells}</tr>')
    head = "".join(f"<th>{reporthtml.text(header)}</th>" for header in ["Guide step", "Check", *modes])
    return ('<h2>The guide, step by step</h2><table class="workshop-guide">'
            f'<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')
