"""The board of a many-target run (--targets / --accounts): one row per target, its own verdict, and the run's.

Each target's verdict is Ledger.verdict over that target's checks alone (suite/report/phases.py), with what its
worker said of it (suite/multi_target.py): an environment problem (NOT RUN for that target alone), what its
teardown left, a read-only run that changed its account. The run is READY only when every target is.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from suite.multi_target import OUTCOMES_KEY, target_in_nodeid, targets_of
from suite.report import html as reporthtml
from suite.report.phases import PHASES, Ledger, Verdict


@dataclass
class BoardRow:
    name: str
    verdict: Verdict
    failed_phases: list[str]
    seconds: float
    region: str
    account: str


def board(config: pytest.Config, ledger: Ledger, interrupted: str | None) -> list[BoardRow]:
    """One row per target, in the targets' order (empty: not a many-target run)."""
    names = [spec.name for spec in targets_of(config)]
    outcomes = config.stash.get(OUTCOMES_KEY, {})
    rows = []
    for name in names:
        own = Ledger()
        # The target's checks, and those every target shares (the Template phase reads the workshop's files once).
        own.checks = {nodeid: check for nodeid, check in ledger.checks.items()
                      if target_in_nodeid(nodeid, names) in (name, None) and check.phase in PHASES}
        said = outcomes.get(name, {})
        verdict = own.verdict(said.get("problem"), said.get("left_behind"), interrupted, said.get("changed"),
                              said.get("not_modelled"))
        failed = [row.phase + (f" ({row.mode})" if row.mode and len(own.modes) > 1 else "")
                  for row in own.rows() if row.phase in PHASES and row.status in ("failed", "unfinished")]
        seconds = (said["ended"] - said["started"]) if "ended" in said and "started" in said \
            else sum(check.duration for check in own.checks.values())
        rows.append(BoardRow(name, verdict, failed, seconds, said.get("region", ""), said.get("account", "")))
    return rows


def overall(rows: list[BoardRow]) -> Verdict:
    """READY when every target is; else naming each target that is not, and why."""
    ready = [row.name for row in rows if row.verdict.ready]
    parts = [f"{len(ready)} of {len(rows)} targets READY"]
    for headline in ("NOT READY", "NOT RUN"):
        named = [f"{row.name} ({row.verdict.reason})" for row in rows if row.verdict.headline == headline]
        if named:
            parts.append(f"{headline}: " + "; ".join(named))
    unproven = sorted({setting for row in rows for setting in row.verdict.not_modelled})  # offline's disclosure
    return Verdict(len(ready) == len(rows), "; ".join(parts), ran=any(row.verdict.ran for row in rows),
                   not_modelled=tuple(unproven))


def exit_status(rows: list[BoardRow], status: int) -> int:
    """The run's exit status says whether every target is READY (4: none could be run at all)."""
    if all(row.verdict.ready for row in rows) or status not in (0, 5):
        return status
    return 4 if not any(row.verdict.ran for row in rows) else 1


def terminal_lines(rows: list[BoardRow]) -> list[str]:
    width = max(len(row.name) for row in rows)
    return [f"{row.name:<{width}}  {row.verdict.headline:<9}  {', '.join(row.failed_phases) or '—':<24} "
            f"{row.seconds:7.1f} s  {row.region or '—':<12} {row.account or '—'}" for row in rows]


def html_table(rows: list[BoardRow]) -> str:
    headers = ["Target", "Verdict", "Failed phases", "Time", "Region", "Account", "Why"]
    cells = [[row.name, row.verdict.headline, ", ".join(row.failed_phases) or "—", f"{row.seconds:.1f} s",
              row.region or "—", row.account or "—", row.verdict.reason] for row in rows]
    states = [f"status-{'passed' if row.verdict.ready else 'failed'}" for row in rows]
    return "<h2>Targets</h2>" + reporthtml.table(headers, cells, "workshop-board", states)
