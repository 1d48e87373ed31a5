"""The workshop's database: connecting with a set of credentials, the `bookinfo` table.

Connections go through a route: the database is private in the VPC and is reached through
the bastion (Session Manager port forwarding), in both modes; `DirectRoute` connects straight
to it (the report's synthetic run, which has no bastion).
"""
from __future__ import annotations

import contextlib
import ssl
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Protocol

import pymysql

BOOKINFO_ROW = (1, "A Tale of Two Cities", "Charles Dickens")
BOOKINFO_TEXT = tuple(str(value) for value in BOOKINFO_ROW)  # as `mysql --batch` prints it
ACCESS_DENIED = 1045  # ER_ACCESS_DENIED_ERROR: what a stale password gets


def batch_rows(output: str) -> list[tuple[str, ...]]:
    """The rows `mysql --batch --skip-column-names` printed (tab-separated)."""
    return [tuple(line.split("\t")) for line in output.splitlines() if line]


@dataclass(frozen=True)
class DBCredentials:
    """What a client needs to log in. repr() never shows the password."""

    host: str
    port: int
    username: str
    password: str
    dbname: str | None = None

    def __repr__(self) -> str:
        return f"DBCredentials(host={self.host!r}, port={self.port}, username={self.username!r}, password=***)"

    @classmethod
    def from_secret(cls, secret: dict[str, Any], where: str = "secret") -> "DBCredentials":
        """From an RDS secret's JSON; a missing key is named with where it was missing."""
        for key in ("host", "username", "password"):
            if key not in secret:
                raise KeyError(f"{where} lacks the key {key!r} (keys present: {sorted(secret)})")
        return cls(secret["host"], int(secret.get("port", 3306)), secret["username"], secret["password"],
                   secret.get("dbname"))


class Route(Protocol):
    def stream_to(self, host: str, port: int) -> Any | None:
        """A connected socket (TLS can wrap it), or None to let the driver connect directly."""


class DirectRoute:
    def stream_to(self, host: str, port: int) -> None:
        return None


def verified_tls(ca_bundle: str) -> ssl.SSLContext:
    """TLS that checks the server's certificate and name against the RDS CA bundle (PEM text)."""
    return ssl.create_default_context(cadata=ca_bundle)


class _Connection(pymysql.connections.Connection):
    """pymysql's connection, its PREFERRED-mode TLS context made once: the driver makes it with
    ssl.create_default_context(), which loads the system's CA bundle (about 37 ms of CPU at every
    connection) for a context that then verifies nothing (CERT_NONE). The same context serves them all."""

    _preferred: ssl.SSLContext | None = None
    _lock = threading.Lock()

    def _create_ssl_ctx(self, sslp: Any) -> ssl.SSLContext:
        if sslp != {}:  # TLS the caller asked for: as the driver makes it
            return super()._create_ssl_ctx(sslp)
        with _Connection._lock:
            if _Connection._preferred is None:
                _Connection._preferred = super()._create_ssl_ctx(sslp)
            return _Connection._preferred


@contextlib.contextmanager
def connect(credentials: DBCredentials, route: Route, timeout: int = 10,
            tls: ssl.SSLContext | bool | None = None) -> Iterator[pymysql.connections.Connection]:
    """tls: a context (TLS required, verified as it says), False (plain only), None (the driver's way)."""
    options: dict[str, Any] = {}
    if isinstance(tls, ssl.SSLContext):
        options["ssl"] = tls
    elif tls is False:
        options["ssl_disabled"] = True
    connection = _Connection(
        host=credentials.host, port=credentials.port, user=credentials.username, password=credentials.password,
        database=credentials.dbname, connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout,
        defer_connect=True, **options,
    )
    # pymysql negotiates TLS whenever the server offers it (as every RDS instance does): the route
    # must hand it a real socket.
    connection.connect(sock=route.stream_to(credentials.host, credentials.port))
    try:
        yield connection
    finally:
        connection.close()


def seed_bookinfo(connection: pymysql.connections.Connection) -> None:
    """What the original bastion's user data did: the table and its one row."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bookinfo "
                       "(BookId int, BookTitle varchar(255), BookAuthor varchar(255))")
        cursor.execute("SELECT COUNT(*) FROM bookinfo WHERE BookId = %s", (BOOKINFO_ROW[0],))
        if cursor.fetchone()[0] == 0:
            cursor.execute("INSERT INTO bookinfo VALUES (%s, %s, %s)", BOOKINFO_ROW)
    connection.commit()


def read_bookinfo(connection: pymysql.connections.Connection) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT BookId, BookTitle, BookAuthor FROM bookinfo ORDER BY BookId")
        return [tuple(row) for row in cursor.fetchall()]
