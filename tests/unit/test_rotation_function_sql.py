"""The rotation function's SQL by server: the password statement for MariaDB, MySQL 5.7 and 8,
and TLS first with a fall back to plain text only where the secret allows it."""
from __future__ import annotations

import ssl
from pathlib import Path

import pymysql
import pytest

from tests.support.workshop_code import rotation_function
from tests.support.rotation_db import db_user, rds_document


def test_password_statement_per_server_version():
    assert rotation_function.password_statement("10.11.19-MariaDB-0+deb12u1") == "SET PASSWORD = PASSWORD(%s)"
    assert rotation_function.password_statement("5.7.44-log") == "SET PASSWORD = PASSWORD(%s)"
    assert rotation_function.password_statement("8.0.46") == "ALTER USER CURRENT_USER() IDENTIFIED BY %s"


def test_mysql8_statement_is_valid_sql(database):
    """MariaDB parses MySQL 8's ALTER USER CURRENT_USER() IDENTIFIED BY (a syntax error would be 1064),
    though for itself it needs CREATE USER and then leaves the password as it was: hence SET PASSWORD there."""
    username, password = db_user(database)
    with database.admin_connect() as connection, connection.cursor() as cursor:
        cursor.execute("GRANT CREATE USER ON *.* TO %s@'%%'", (username,))
    with pymysql.connect(host=database.host, port=database.port, user=username, password=password) as connection:
        with connection.cursor() as cursor:
            cursor.execute(rotation_function.password_statement("8.0.46"), (rotation_function.new_password(),))


@pytest.mark.parametrize("ssl, logs_in", [(None, True), (False, True), ("false", True), (True, False)],
                         ids=["absent-falls-back", "false", "false-as-string", "true-requires-tls"])
def test_ssl_key(database, ssl, logs_in):
    """This server offers no TLS: absent means TLS then plain, false plain, true refuses plain text."""
    username, password = db_user(database)
    connection = rotation_function.try_connect(rds_document(database, username, password, ssl=ssl), "AWSCURRENT")
    assert (connection is not None) == logs_in
    if connection:
        connection.close()


def test_tls_context_is_made_once_per_ca_bundle(monkeypatch, tmp_path):
    """A rotation logs in three times: the CA bundle is read once per execution environment, and a bundle named
    by DB_CA_BUNDLE gets a context of its own, verified against it."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(Path(ssl.get_default_verify_paths().openssl_cafile).read_text())
    monkeypatch.delenv("DB_CA_BUNDLE", raising=False)
    plain = rotation_function.tls_context()
    assert rotation_function.tls_context() is plain
    monkeypatch.setenv("DB_CA_BUNDLE", str(bundle))
    named = rotation_function.tls_context()
    assert named is not plain and named is rotation_function.tls_context()
    assert named.verify_mode == ssl.CERT_REQUIRED and named.check_hostname
