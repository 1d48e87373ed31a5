"""localaws.database.mysql8_statements: the MySQL 8 password statements, as MariaDB must run them to do
what MySQL 8 does.

MySQL 8.0 / 8.4 reference manual: "SET PASSWORD Statement" (`SET PASSWORD [FOR user] = 'auth_string'`, the
string being the clear-text password; "the PASSWORD() function ... removed in MySQL 8.0.11"), "ALTER USER
Statement" (`ALTER USER USER() / CURRENT_USER() IDENTIFIED BY 'auth_string'` changes the connected account's
password). MariaDB 10.11 takes `SET PASSWORD = 'string'` as a hash and ignores ALTER USER CURRENT_USER().
Also the pieces of the caching_sha2_password login MySQL 8.4 asks for (localaws/database/sha2_login.py).
"""
from __future__ import annotations

import pytest

from localaws.database.mysql8_statements import NEAR_MAX, Refusal, translate
from localaws.database.front import error_packet, translated, without_compression
from localaws.database.sha2_login import (as_sha2_greeting, greeting_fields, native_response, native_scramble,
                                       parse_response)


@pytest.mark.parametrize(("mysql8", "mariadb"), [
    (b"ALTER USER CURRENT_USER() IDENTIFIED BY 'n3w'", b"SET PASSWORD = PASSWORD('n3w')"),
    (b"alter user current_user identified by 'n3w';", b"SET PASSWORD = PASSWORD('n3w')"),
    (b"  ALTER USER\n CURRENT_USER ( ) IDENTIFIED BY \"it''s\" ", b"SET PASSWORD = PASSWORD(\"it''s\")"),
    (b"SET PASSWORD = 'n3w'", b"SET PASSWORD = PASSWORD('n3w')"),
    (b"set password='it\\'s=;'", b"SET PASSWORD = PASSWORD('it\\'s=;')"),
    (b"SET PASSWORD FOR 'app'@'%' = 'n3w'", b"SET PASSWORD FOR 'app'@'%' = PASSWORD('n3w')"),
    (b"SET PASSWORD FOR app = 'n3w';", b"SET PASSWORD FOR app = PASSWORD('n3w')"),
], ids=["alter-current-user", "alter-lower-case", "alter-spaced", "set", "set-escapes", "set-for", "set-for-bare"])
def test_password_statements_become_mariadbs(mysql8, mariadb):
    assert translate(mysql8) == mariadb


@pytest.mark.parametrize("statement", [
    b"SELECT VERSION()",
    b"ALTER USER 'app'@'%' IDENTIFIED BY 'n3w'",  # MariaDB already does what MySQL 8 does
    b"ALTER USER CURRENT_USER() IDENTIFIED BY 'n3w' RETAIN CURRENT PASSWORD",  # not modelled: MariaDB refuses it
    b"SET PASSWORD = 'n3w'; SELECT 1",  # two statements: left to MariaDB
    b"INSERT INTO notes VALUES ('SET PASSWORD = ''x''')",
    b"CREATE TABLE t (password VARCHAR(10))",
], ids=["select", "alter-named-user", "retain", "two-statements", "quoted", "column"])
def test_everything_else_passes_unchanged(statement):
    assert translate(statement) == statement


@pytest.mark.parametrize(("statement", "near"), [
    (b"SET PASSWORD = PASSWORD('n3w')", "PASSWORD('n3w')"),
    (b"SET PASSWORD FOR 'app'@'%' = OLD_PASSWORD('n3w');", "OLD_PASSWORD('n3w');"),
])
def test_the_password_function_is_mysql_8s_syntax_error(statement, near):
    refusal = translate(statement)
    assert refusal == Refusal(1064, "42000", "You have an error in your SQL syntax; check the manual that corresponds "
                                             f"to your MySQL server version for the right syntax to use near '{near}' "
                                             "at line 1")


def test_a_syntax_error_quotes_at_most_80_characters():
    refusal = translate(b"SET PASSWORD = PASSWORD('" + b"x" * 200 + b"')")
    quoted = "PASSWORD('" + "x" * (NEAR_MAX - len("PASSWORD('"))
    assert isinstance(refusal, Refusal) and f"near '{quoted}' at line 1" in refusal.message


def test_only_query_commands_are_translated():
    assert translated(b"\x03SET PASSWORD = 'n3w'") == b"\x03SET PASSWORD = PASSWORD('n3w')"
    assert translated(b"\x16SET PASSWORD = 'n3w'") == b"\x16SET PASSWORD = 'n3w'"  # COM_STMT_PREPARE
    assert isinstance(translated(b"\x03SET PASSWORD = PASSWORD('n3w')"), Refusal)


def test_an_error_packet_is_mysqls_err_packet():
    packet = error_packet(1, Refusal(1064, "42000", "bad"))
    assert packet == bytes([12, 0, 0, 1]) + b"\xff" + (1064).to_bytes(2, "little") + b"#42000bad"


def test_the_greeting_no_longer_offers_compression():
    flags = (0xF7FF).to_bytes(2, "little")
    greeting = b"\x0a8.0.46\x00" + b"\x01\x00\x00\x00" + b"abcdefgh" + b"\x00" + flags + b"rest"
    changed = without_compression(greeting)
    assert changed == greeting[:-6] + (0xF7DF).to_bytes(2, "little") + b"rest"
    assert without_compression(b"\xff\x10\x04Too many connections") == b"\xff\x10\x04Too many connections"


def test_native_scramble_is_pymysqls():
    """mysql_native_password's answer to a nonce (MySQL's "Native Authentication")."""
    from pymysql._auth import scramble_native_password

    nonce = bytes(range(1, 21))
    assert native_scramble(b"Some-Passw0rd", nonce) == scramble_native_password(b"Some-Passw0rd", nonce)
    assert native_scramble(b"", nonce) == b""


def test_a_sha2_login_becomes_a_native_one_for_the_server():
    """The client's HandshakeResponse41 keeps its user, database, and attributes; only the auth response
    and the plugin name change (MySQL client/server protocol, "Protocol::HandshakeResponse41")."""
    capabilities = (0x0200 | 0x8000 | 0x0008 | 0x80000 | 0x200000 | 0x100000).to_bytes(4, "little")
    head = capabilities + b"\x00\x00\x00\x01" + b"\x2d" + b"\x00" * 23 + b"admin\x00"
    sha2 = head + bytes([32]) + b"s" * 32 + b"smdemo\x00" + b"caching_sha2_password\x00" + b"\x05attrs"
    assert parse_response(sha2)[1:] == (b"s" * 32, b"caching_sha2_password")
    native = native_response(sha2, b"n" * 20)
    assert native == head + bytes([20]) + b"n" * 20 + b"smdemo\x00" + b"mysql_native_password\x00" + b"\x05attrs"
    assert parse_response(native)[1:] == (b"n" * 20, b"mysql_native_password")


def test_the_sha2_greeting_names_caching_sha2_password_with_the_same_nonce():
    greeting = (b"\x0a8.4.6\x00" + b"\x07\x00\x00\x00" + b"ABCDEFGH" + b"\x00" + b"\xff\xf7" + b"\x2d" + b"\x02\x00"
                + b"\xff\x81" + bytes([21]) + b"\x00" * 10 + b"IJKLMNOPQRST\x00" + b"mysql_native_password\x00")
    nonce, _ = greeting_fields(greeting)
    assert nonce == b"ABCDEFGHIJKLMNOPQRST"
    assert as_sha2_greeting(greeting) == greeting.replace(b"mysql_native_password", b"caching_sha2_password")
