"""What the suite adds to a stack it deploys, which a stack deployed by anyone else lacks.

A deployment by the suite seeds the `bookinfo` row the guide's first steps read. A stack given with
`--stack` that the suite did not deploy may lack it: a check that needs it is not run, and says why
(`require`), rather than failing for the suite's lack. Nothing else is the suite's own: the checks
reach the bastion's network through Session Manager (suite/attendee/ssm_tunnel.py) on any stack.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

SEEDED = "seeded"
WHAT = {SEEDED: "the bookinfo row the suite seeds when it deploys"}


@dataclass(frozen=True)
class SuiteAdditions:
    """Which of the suite's additions the stack lacks, each with why."""

    missing: dict[str, str] = field(default_factory=dict)

    def require(self, need: str) -> None:
        """Skip the check (not run, saying what it needs) when the stack lacks `need`."""
        if need in self.missing:
            pytest.skip(f"not run: needs {WHAT[need]}: {self.missing[need]}")


DEPLOYED_BY_THE_SUITE = SuiteAdditions()


def of_existing_stack(name: str, deployed_by_the_suite: bool) -> SuiteAdditions:
    """Its bookinfo row is there when the suite deployed it (a --keep-stack run), else unknown."""
    missing = {}
    if not deployed_by_the_suite:
        missing[SEEDED] = f"stack {name} was not deployed by the suite"
    return SuiteAdditions(missing)
