"""The AWS CLI of the local AWS's hosts, started warm (aws.py, daemon.py: they run inside a host's sandbox, with
Debian's Python, and import nothing of the local AWS)."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
DAEMON = "/run/localaws/aws-cli-daemon.py"  # aws.py names it too


def binds() -> list[tuple[str, str]]:
    """A sandbox's read-only binds that make its /usr/bin/aws the warm one."""
    return [(str(HERE / "aws.py"), "/usr/bin/aws"), (str(HERE / "daemon.py"), DAEMON)]
