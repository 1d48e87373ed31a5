"""How `scripts/test.sh` splits the project's tests over pytest-xdist workers (`-n 3 --dist loadfile`).

Each test file goes to one worker whole, as loadfile does: a module's fixtures (the self-tests' pools of
broken-workshop runs, which submit every selected case of their module at once) are made once. The
workshop's phases are one unit: they share one deployment and run in the guide's order (the Audit phase
looks for what the others did), so every phase check goes to the same worker, in that order.
"""
from __future__ import annotations

from xdist.scheduler import LoadFileScheduling

from suite.report.phases import PHASES, phase_of

PHASES_UNIT = "the workshop's phases"


class PhasesTogether(LoadFileScheduling):
    """loadfile's scheduling, the phases' files counted as one file."""

    def _split_scope(self, nodeid: str) -> str:
        return PHASES_UNIT if phase_of(nodeid) in PHASES else super()._split_scope(nodeid)
