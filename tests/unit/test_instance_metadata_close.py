"""localaws.hosts.metadata: an instance's metadata service stops at once when the instance goes.

socketserver's serve_forever looks for shutdown() every half second by default: every terminated instance (and the
local AWS's own stop) waited that long, most of a run's teardown."""
from __future__ import annotations

import time
from types import SimpleNamespace

from localaws.hosts.metadata import InstanceMetadata


def test_closing_the_metadata_service_takes_a_fraction_of_its_poll():
    closes = []
    for _ in range(3):
        service = InstanceMetadata(SimpleNamespace(id="i-0123456789abcdef0"), role_arn=lambda: None)
        time.sleep(0.01)  # serving: inside serve_forever's wait
        started = time.monotonic()
        service.close()
        closes.append(time.monotonic() - started)
    assert min(closes) < 0.2, f"closing took {min(closes):.2f} s at best"
