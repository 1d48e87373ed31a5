"""The MySQL 8 statements MariaDB takes differently, translated so that MariaDB does what MySQL 8 does.

MySQL 8.0 / 8.4 (reference manual, "SET PASSWORD Statement" and "ALTER USER Statement"):
- `SET PASSWORD [FOR user] = 'auth_string'` takes the password in clear text and hashes it;
  MariaDB takes that literal as an already-made hash (error 1372 unless it is 41 hex digits).
- `ALTER USER CURRENT_USER() IDENTIFIED BY 'auth_string'` changes the connected account's password;
  MariaDB 10.11 accepts it and changes nothing.
- The PASSWORD() function was removed in MySQL 8.0.11: `SET PASSWORD = PASSWORD('...')` is a syntax
  error (1064), which MariaDB would run.
Only these whole statements are touched (one statement, optional `;`): anything else reaches MariaDB
unchanged. `translate` gives the query MariaDB is to run, or the `Refusal` MySQL 8 answers with.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# A quoted string literal: '...' or "..." with backslash escapes and doubled quotes.
_LITERAL = rb"""('(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")"""
_END = rb"\s*;?\s*\Z"
_SET_PASSWORD = re.compile(rb"\A\s*SET\s+PASSWORD((?:\s+FOR\s+.+?)?)\s*=\s*" + _LITERAL + _END, re.I | re.S)
_ALTER_OWN_PASSWORD = re.compile(
    rb"\A\s*ALTER\s+USER\s+CURRENT_USER(?:\s*\(\s*\))?\s+IDENTIFIED\s+BY\s+" + _LITERAL + _END, re.I | re.S)
_SET_PASSWORD_FUNCTION = re.compile(rb"\A\s*SET\s+PASSWORD(?:\s+FOR\s+.+?)?\s*=\s*((?:OLD_)?PASSWORD\s*\(.*)\Z",
                                    re.I | re.S)
NEAR_MAX = 80  # MySQL quotes at most this much of the statement after the point of the syntax error


@dataclass(frozen=True)
class Refusal:
    """An error MySQL 8 answers with: error number, SQLSTATE, message."""

    code: int
    state: str
    message: str


def _syntax_error(near: bytes) -> Refusal:
    quoted = near[:NEAR_MAX].decode("utf-8", "replace")
    return Refusal(1064, "42000", "You have an error in your SQL syntax; check the manual that corresponds to your "
                                  f"MySQL server version for the right syntax to use near '{quoted}' at line 1")


def translate(query: bytes) -> bytes | Refusal:
    """The statement MariaDB must run for `query` to do what it does on MySQL 8 (or MySQL 8's refusal)."""
    if own := _ALTER_OWN_PASSWORD.match(query):
        # SET PASSWORD without FOR is the connected account's, as CURRENT_USER() is.
        return b"SET PASSWORD = PASSWORD(" + own.group(1) + b")"
    if plain := _SET_PASSWORD.match(query):
        return b"SET PASSWORD" + plain.group(1) + b" = PASSWORD(" + plain.group(2) + b")"
    if function := _SET_PASSWORD_FUNCTION.match(query):
        return _syntax_error(function.group(1).rstrip())
    return query
