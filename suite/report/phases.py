"""What ran, phase by phase and mode by mode, and the verdict an instructor reads.

A check belongs to a phase by its folder (PHASES, the one place the phases are spelled; `python -m
suite.report.phases` prints their folders, for scripts/verify-offline.sh) and to a mode by the `aws` fixture's
param, or, for a check that needs no AWS (the Template phase
reads the workshop's files), by the `mode` fixture's, which has the same params and starts nothing. Each check
ends with one outcome; the verdict is READY only when no phase failed, none stopped half-way, and at least one
check passed. What the local AWS was given and does not model is said with it ("READY offline, N settings not
modelled: ..."): offline could not prove those settings.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from suite.report.guide_steps import STEPS, Step

PHASES = {"Template": "tests/template/", "RDS": "tests/rds/", "Fargate": "tests/fargate/",
          "TLS user": "tests/tls_user/", "App": "tests/app/", "Audit": "tests/audit/"}
DEPLOYED_PHASES = tuple(phase for phase in PHASES if phase != "Template")  # the ones that need a deployment
# The order the phases run in: the Template phase's slow tools work in the background from the run's start
# (suite/template_tools.py), and its checks read them after the RDS, Fargate and TLS user phases, while the App
# lab's lesson, which runs beside those (suite/app_lesson.py) and mostly waits, may still be finishing; the Audit
# phase stays last (it looks for what the others did, and the deployment's teardown is its time). Reports list
# PHASES.
RUN_ORDER = ("RDS", "Fargate", "TLS user", "Template", "App", "Audit")


def folders(phases: tuple[str, ...] | None = None) -> list[str]:
    """The phases' folders in the guide's order, as pytest takes them (tests/rds, ...)."""
    return [PHASES[phase].rstrip("/") for phase in (phases or tuple(PHASES))]
OTHER = "Project tests"  # unit, fidelity and self-tests: shown, never part of the verdict
NOT_RUN = "not run"  # a phase without any check collected
UNFINISHED = "not finished"  # a check collected, but the run stopped before it
OUTCOMES = ("passed", "failed", "error", "skipped", UNFINISHED)
MODE_PARAM = "aws"  # the fixture whose param is the mode, and which starts that AWS (suite/fixtures.py)
NO_AWS_MODE_PARAM = "mode"  # the same modes for checks that need no AWS: nothing started, no credentials
MODES = ("offline", "live")  # the order they are shown in
NO_MODE = "result"  # the column of a check that runs in no mode


def mode_key(mode: str | None) -> tuple[int, str]:
    return (MODES.index(mode) if mode in MODES else len(MODES), mode or "")


def mode_of(item: object) -> str | None:
    """The mode a collected check runs in (its `aws` or `mode` param), None for the project's own tests."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return None
    return callspec.params.get(MODE_PARAM, callspec.params.get(NO_AWS_MODE_PARAM))


def phase_of(nodeid: str) -> str:
    return next((phase for phase, folder in PHASES.items()
                 if nodeid.startswith(folder) or nodeid == folder.rstrip("/")), OTHER)


def check_name(nodeid: str, mode: str | None) -> str:
    """The check without its mode, so that its offline and live results pair up."""
    if mode:
        for with_mode, without in ((f"[{mode}]", ""), (f"[{mode}-", "["), (f"-{mode}]", "]"), (f"-{mode}-", "-")):
            if with_mode in nodeid:
                return nodeid.replace(with_mode, without, 1)
    return nodeid


@dataclass
class Check:
    nodeid: str
    mode: str | None
    outcome: str = UNFINISHED
    duration: float = 0.0
    step: Step | None = None  # the guide's step it verifies (suite/report/guide_steps.py)

    @property
    def phase(self) -> str:
        return phase_of(self.nodeid)

    def record(self, when: str, outcome: str, duration: float) -> None:
        """One of setup/call/teardown (an xfail is reported as skipped, an xpass as passed)."""
        self.duration += duration
        if when == "setup" and outcome != "passed":
            self.outcome = "error" if outcome == "failed" else outcome
        elif when == "call":
            self.outcome = outcome
        elif when == "teardown" and outcome == "failed" and self.outcome in ("passed", UNFINISHED):
            self.outcome = "error"


@dataclass
class PhaseRow:
    phase: str
    mode: str | None
    counts: Counter = field(default_factory=Counter)
    duration: float = 0.0

    @property
    def status(self) -> str:
        if self.counts["failed"] or self.counts["error"]:
            return "failed"
        if self.counts[UNFINISHED]:
            return "unfinished"
        if self.counts["passed"]:
            return "passed"
        return "skipped" if self.counts["skipped"] else NOT_RUN


def not_modelled_phrase(settings: list[str]) -> str:
    """"offline, 2 settings not modelled: A, B": what the local AWS was given and does not model."""
    return f"offline, {len(settings)} setting{'' if len(settings) == 1 else 's'} not modelled: {', '.join(settings)}"


@dataclass
class Verdict:
    ready: bool
    reason: str
    ran: bool = True  # False: the environment stopped the run before any check (the reason says why)
    # What the local AWS was given and does not model: offline could not prove it (disclosure, not failure).
    not_modelled: tuple[str, ...] = ()

    @property
    def headline(self) -> str:
        if not self.ran:
            return "NOT RUN"
        return "READY" if self.ready else "NOT READY"

    @property
    def told(self) -> str:
        """The verdict after its headline: "READY offline, N settings not modelled: ...; passed: ..." reads
        as one sentence; a NOT READY names its failures first and the settings after them."""
        if not self.not_modelled:
            return f": {self.reason}"
        said = not_modelled_phrase(list(self.not_modelled))
        return f" {said}; {self.reason}" if self.ready else f": {self.reason}; {said}"

    @property
    def line(self) -> str:
        return f"{self.headline}{self.told}"


class Ledger:
    """The checks of one session: collected, then given an outcome as their reports arrive."""

    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}

    def collected(self, nodeid: str, mode: str | None, step: Step | None = None) -> None:
        self.checks.setdefault(nodeid, Check(nodeid, mode, step=step))

    def collection_error(self, nodeid: str) -> None:
        self.checks[nodeid] = Check(nodeid, None, outcome="error")

    def record(self, nodeid: str, when: str, outcome: str, duration: float) -> None:
        self.checks.setdefault(nodeid, Check(nodeid, None)).record(when, outcome, duration)

    @property
    def modes(self) -> list[str]:
        return sorted({check.mode for check in self.checks.values() if check.mode}, key=mode_key)

    def rows(self) -> list[PhaseRow]:
        """One row per phase and mode that has checks; a phase without any is one row, not run."""
        rows: dict[tuple[str, str | None], PhaseRow] = {}
        for check in self.checks.values():
            row = rows.setdefault((check.phase, check.mode), PhaseRow(check.phase, check.mode))
            row.counts[check.outcome] += 1
            row.duration += check.duration
        order = [*PHASES, OTHER]
        for phase in PHASES:
            if not any(key[0] == phase for key in rows):
                rows[(phase, None)] = PhaseRow(phase, None)
        return sorted(rows.values(), key=lambda row: (order.index(row.phase), mode_key(row.mode)))

    def by_step(self) -> list[tuple[Step, dict[str, dict[str, str]]]]:
        """Each guide step, in the guide's order, with its checks: {check without its mode: {mode: outcome}}.
        A step no check verifies is listed when its phase has checks: the reader sees the gap."""
        grouped: dict[Step, dict[str, dict[str, str]]] = {}
        for check in self.checks.values():
            if check.step:
                outcomes = grouped.setdefault(check.step, {}).setdefault(check_name(check.nodeid, check.mode), {})
                outcomes[check.mode or NO_MODE] = check.outcome
        phases = {step.phase for step in grouped}
        return [(step, grouped.get(step, {})) for step in STEPS if step in grouped or step.phase in phases]

    def verdict(self, environment_problem: str | None = None, left_behind: str | None = None,
                interrupted: str | None = None, changed_account: str | None = None,
                not_modelled: list[str] | None = None) -> Verdict:
        """READY / NOT READY from the phases. An environment problem (this machine, the account, or the
        local AWS's own machinery) makes the verdict NOT RUN, whenever it came: no phase is blamed, and
        what the checks said before it is only counted (a check that failed then may have failed for it).
        The settings the local AWS does not model are said with the verdict, READY staying READY."""
        rows = [row for row in self.rows() if row.phase in PHASES]
        if environment_problem:
            counts: Counter[str] = Counter()
            for row in rows:
                counts.update(row.counts)
            before = ", ".join(f"{counts[outcome]} {outcome}" for outcome in ("passed", "failed", "error")
                               if counts[outcome])
            said = f"; before it, the checks had {before} (not the workshop's verdict)" if before else ""
            return Verdict(False, f"environment: {environment_problem}{said}", ran=False)

        def having(status: str) -> list[str]:
            """The phases with a row of this status, each with the modes it has it in."""
            named = []
            for phase in PHASES:
                matching = [row for row in rows if row.phase == phase and row.status == status]
                if matching:
                    named.append(_named(phase, matching))
            return named

        failed, unfinished, passed = having("failed"), having("unfinished"), having("passed")
        parts = [f"{label}: {', '.join(phases)}" for label, phases in (
            ("failed", failed), ("stopped before finishing", unfinished), ("passed", passed),
            ("skipped", having("skipped")), (NOT_RUN, having(NOT_RUN))) if phases]
        if not (failed or unfinished or passed):
            parts.insert(0, "nothing was verified")
        broken = sum(row.counts["failed"] + row.counts["error"] for row in self.rows() if row.phase == OTHER)
        if broken:  # the project's own tests say nothing about the workshop, but the reader should know
            parts.append(f"{OTHER.lower()}: {broken} failed (not part of the verdict)")
        if left_behind:  # a workshop that cannot be torn down leaves a class's accounts littered
            parts.insert(0, f"teardown left behind: {left_behind}")
        if changed_account:  # a read-only run that changed what attendees see: a check is misclassified
            parts.insert(0, f"the read-only run changed the account: {changed_account}")
        if interrupted:  # a run cut short proves less than it would have: never READY
            parts.insert(0, f"the run was interrupted ({interrupted})")
        return Verdict(not (failed or unfinished or left_behind or interrupted or changed_account) and bool(passed),
                       "; ".join(parts), not_modelled=tuple(not_modelled or ()))


def _named(phase: str, rows: list[PhaseRow]) -> str:
    """"RDS (live)": the phase, and the modes it has this status in."""
    modes = [row.mode for row in rows if row.mode]
    return f"{phase} ({', '.join(modes)})" if modes else phase


if __name__ == "__main__":
    print(" ".join(folders()))
