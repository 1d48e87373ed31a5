"""Where this local AWS keeps its state (databases, hosts' and tasks' sandboxes, function code, image blobs).

Read when a path is needed, never at import: a server forked from one that imported the modules before it had
a state directory (localaws/preloaded.py) has its own.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def state_dir() -> Path:
    return Path(os.environ.get("LOCALAWS_STATE_DIR", tempfile.gettempdir()))
