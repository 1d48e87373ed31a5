"""Finding the system programs the local AWS runs, with the package to install when missing."""
from __future__ import annotations

import os
import shutil

SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class MissingSystemTool(RuntimeError):
    pass


def require_tool(candidates: list[str], package: str) -> str:
    """Absolute path of the first candidate found, else one clear line naming the package."""
    for name in candidates:
        found = shutil.which(name) or next(
            (os.path.join(d, name) for d in SBIN_DIRS if os.access(os.path.join(d, name), os.X_OK)), None)
        if found:
            return found
    raise MissingSystemTool(f"{'/'.join(candidates)} not found: install the Debian package '{package}' "
                            f"(apt-get install {package}), or run scripts/setup.sh")
