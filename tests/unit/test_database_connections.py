"""suite.attendee.database.connect's connections: the driver's own TLS modes, its PREFERRED-mode context made once.

pymysql without TLS options uses PREFERRED mode (TLS when the server offers it, as every RDS instance does, and
plain otherwise) with a context that verifies nothing; making that context loads the system's CA bundle each time.
"""
from __future__ import annotations

import ssl

import pymysql

from suite.attendee.database import _Connection


def _unconnected(**options) -> pymysql.connections.Connection:
    return _Connection(host="db.example", user="u", password="p", defer_connect=True, **options)


def test_preferred_mode_is_the_drivers_and_its_context_is_made_once():
    first, second = _unconnected(), _unconnected()
    driver = pymysql.connect(host="db.example", user="u", password="p", defer_connect=True)
    for connection in (first, second):
        assert (connection.ssl, connection._ssl_required) == (driver.ssl, driver._ssl_required) == (True, False)
        assert (connection.ctx.verify_mode, connection.ctx.check_hostname) == (
            driver.ctx.verify_mode, driver.ctx.check_hostname) == (ssl.CERT_NONE, False)
    assert first.ctx is second.ctx


def test_tls_the_caller_asks_for_is_not_the_shared_context():
    verified = ssl.create_default_context()
    required = _unconnected(ssl=verified)
    assert (required.ctx, required._ssl_required) == (verified, True)
    assert _unconnected(ssl_disabled=True).ssl is False
    assert _unconnected().ctx is not verified
