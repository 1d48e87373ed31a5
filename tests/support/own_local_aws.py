"""The environment for a run that must launch a local AWS of its own, not fork one from the session's.

With pytest-xdist, the project's tests export LOCALAWS_PRELOADED (tests/conftest.py): a run given it forks its
server from one preloaded process. A self-test that watches a run's own processes (its server must be in the run's
tree) or runs another copy of the project (its server must be that copy's code) gives its run this instead.
"""
from __future__ import annotations

import os

PRELOADED = "LOCALAWS_PRELOADED"


def without_the_sessions_local_aws() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name != PRELOADED}
