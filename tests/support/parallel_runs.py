"""How `scripts/test.sh` splits the project's tests over pytest-xdist workers (`-n 3 --dist loadfile`).

Each test file goes to one worker whole, as loadfile does: a module's fixtures (the self-tests' pools of
broken-workshop runs, which submit every selected case of their module at once) are made once. The
workshop's phases are one unit: they share one deployment and run in the guide's order (the Audit phase
looks for what the others did), so every phase check goes to the same worker, in that order.
"""
from __future__ import annotations

import pytest
from xdist.scheduler import LoadFileScheduling

from suite.report.phases import PHASES, phase_of

PHASES_UNIT = "the workshop's phases"


class PhasesTogether(LoadFileScheduling):
    """loadfile's scheduling, the phases' files counted as one file."""

    def _split_scope(self, nodeid: str) -> str:
        return PHASES_UNIT if phase_of(nodeid) in PHASES else super()._split_scope(nodeid)


# The test files whose tests take longest in a whole run (measured: the broken-workshop runs about 480 s of wall
# time, the live and the clone's runs about 120 s each, the interrupted runs about 110 s), longest first.
# pytest-xdist hands the files out in the order of its workers' collection: a long one handed out late ends the run
# alone, on one core of two.
LONGEST_FIRST = (
    "tests/selftest/test_checks_have_teeth.py",
    "tests/unit/test_modes.py",
    "tests/selftest/test_runs_wherever_cloned.py",
    "tests/selftest/test_nothing_outlives_a_run.py",
    "tests/selftest/test_read_only_runs.py",
    "tests/selftest/test_caller_policies.py",
    "tests/selftest/test_environment_problems.py",
)


def longest_first(items: list[pytest.Item]) -> None:
    """The files of LONGEST_FIRST first, in its order; every other test where it was (a stable sort)."""
    rank = {path: number for number, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(LONGEST_FIRST)))
