"""What the rotation function's tests share: a database user of a test's own, the secret an RDS
attachment leaves, and whether a login works."""
from __future__ import annotations

import secrets
from typing import Any

import pymysql

from tests.support.workshop_code import rotation_function
from localaws.database.server import MySQLServer


def db_user(server: MySQLServer) -> tuple[str, str]:
    """A database user of the test's own (single-user rotation changes its own password)."""
    username, password = "u" + secrets.token_hex(5), rotation_function.new_password()
    with server.admin_connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (username, password))
        cursor.execute("GRANT ALL ON appdb.* TO %s@'%%'", (username,))
    return username, password


def rds_document(server: MySQLServer, username: str, password: str, /, **changes: Any) -> dict[str, Any]:
    """What a SecretTargetAttachment leaves in an RDS MySQL secret; a change of None drops the key."""
    value = {"engine": "mysql", "host": server.host, "port": server.port, "username": username,
             "password": password, "dbname": "appdb", "dbInstanceIdentifier": "smdemo-db"}
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


def login_error(server: MySQLServer, username: str, password: str) -> int | None:
    """None if these credentials log in, else the MySQL error number."""
    try:
        pymysql.connect(host=server.host, port=server.port, user=username, password=password,
                        connect_timeout=3).close()
        return None
    except pymysql.err.OperationalError as error:
        return error.args[0]
