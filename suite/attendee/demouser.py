"""Lab C (seed 004): demouser, a second database user who may log in over TLS only.

The master user makes it with the lab's SQL (the workshop folder's labs/demouser.sql) and the password its secret
generated; the lab's test (`db_access_test.py -s secret_Demouser`) then reads the secret, connects
over TLS verified against the RDS CA bundle, creates a table, inserts three rows, reads them back
and drops the table. Lab B's appuser, the web app's own database user, is made the same way from labs/appuser.sql
(`make_lab_user`).
"""
from __future__ import annotations

from typing import Any

import pymysql

from suite.workshop_folder import WorkshopFolder

LAB_TABLE = "lab_test"
LAB_ROWS = [(1, "first row"), (2, "second row"), (3, "third row")]
TABLE_ACCESS_DENIED = 1142  # ER_TABLEACCESS_DENIED_ERROR
DATABASE_ACCESS_DENIED = 1044  # ER_DBACCESS_DENIED_ERROR


def lab_sql(workshop: WorkshopFolder, name: str = "demouser.sql") -> str:
    """One of the labs' SQL files (labs/demouser.sql, lab B's labs/appuser.sql)."""
    return (workshop.labs / name).read_text()


class LabSQLFailed(RuntimeError):
    pass


def make_lab_user(admin: pymysql.connections.Connection, secret: dict[str, Any], sql: str,
                  source: str = "labs/demouser.sql") -> None:
    """Run a lab's SQL that makes a database user (demouser; lab B's appuser) as the master user, with the user's
    secret's values put in as SQL literals. The statements hold the password: they are split before it is put in
    (it may hold a `;`), and neither they nor the server's error text (which quotes them) are ever shown."""
    values = {"username": admin.escape(secret["username"]), "password": admin.escape(secret["password"])}
    if "dbname" in secret:
        values["dbname"] = "`" + str(secret["dbname"]).replace("`", "``") + "`"
    code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    templates = [statement.strip() for statement in code.split(";") if statement.strip()]
    with admin.cursor() as cursor:
        for number, template in enumerate(templates, 1):
            try:
                statement = template.format(**values)
            except KeyError as missing:
                raise LabSQLFailed(f"{source}, statement {number}: {{{missing.args[0]}}} is not a value of the "
                                   f"user's secret") from None
            try:
                cursor.execute(statement)
            except pymysql.MySQLError as error:
                code_number = error.args[0] if error.args else "?"
                raise LabSQLFailed(f"{source}, statement {number} ({template.split()[0]} ...): "
                                   f"MySQL error {code_number}") from None
    admin.commit()


def tls_in_use(connection: pymysql.connections.Connection) -> str:
    """The session's TLS version and cipher as the server reports them ("" when in plain text)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_version', 'Ssl_cipher')")
        status = dict(cursor.fetchall())
    return " ".join(value for value in (status.get("Ssl_version"), status.get("Ssl_cipher")) if value)


def run_lab_test(connection: pymysql.connections.Connection) -> list[tuple]:
    """The lab's test: create a table, insert three rows, read them, drop the table."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {LAB_TABLE}")  # a run that stopped half-way
        cursor.execute(f"CREATE TABLE {LAB_TABLE} (id INT PRIMARY KEY, label VARCHAR(32))")
        cursor.executemany(f"INSERT INTO {LAB_TABLE} VALUES (%s, %s)", LAB_ROWS)
        connection.commit()
        cursor.execute(f"SELECT id, label FROM {LAB_TABLE} ORDER BY id")
        rows = [tuple(row) for row in cursor.fetchall()]
        cursor.execute(f"DROP TABLE {LAB_TABLE}")
    return rows
