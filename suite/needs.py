"""What the suite adds to a stack it deploys, which a stack deployed by anyone else lacks.

A deployment by the suite brings its own SSH key for the bastion with an inbound SSH rule for the
caller's address (the direct database, container and app checks go through it) and seeds the
`bookinfo` row the guide's first steps read. A stack given with `--stack` has neither: a check that
needs one is not run, and says which (`require`), rather than failing for the suite's lack. The
route is asked for in one place (`Workshop.route`, `FargatePhase.shell`, `LabC.connect`,
`LabApp.watch`): once the checks reach everything through Session Manager, `SSH` goes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

SSH = "ssh"
SEEDED = "seeded"
WHAT = {SSH: "the suite's SSH key on the bastion and SSH opened to the caller's address (added only to a stack "
             "the suite deploys)",
        SEEDED: "the bookinfo row the suite seeds when it deploys"}


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
    """An existing stack never has the suite's key (it is made per run); its bookinfo row is there when
    the suite deployed it (a --keep-stack run), else unknown."""
    missing = {SSH: f"stack {name} was given with --stack"}
    if not deployed_by_the_suite:
        missing[SEEDED] = f"stack {name} was not deployed by the suite"
    return SuiteAdditions(missing)
