"""suite.attendee.demouser: the labs' SQL (demouser, appuser) is run statement by statement, and never shown."""
from __future__ import annotations

import pymysql
import pytest

from suite.attendee.demouser import LabSQLFailed, make_lab_user

SQL = """-- a comment naming {password}
CREATE DATABASE IF NOT EXISTS {dbname};
CREATE USER IF NOT EXISTS {username}@'%' IDENTIFIED BY {password} REQUIRE SSL;
"""
SECRET = {"username": "demouser", "password": "pa;ss'word;x", "dbname": "mylab"}


class FakeAdmin:
    """A connection that records statements, and fails the one containing `fail_on` as MariaDB does:
    its error quotes the statement near the fault."""

    def __init__(self, fail_on: str | None = None):
        self.executed: list[str] = []
        self.fail_on = fail_on

    def escape(self, value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def cursor(self) -> "FakeAdmin":
        return self

    def __enter__(self) -> "FakeAdmin":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, statement: str) -> None:
        if self.fail_on and self.fail_on in statement:
            raise pymysql.err.ProgrammingError(1064, f"syntax error near '{statement[-12:]}' at line 1")
        self.executed.append(statement)

    def commit(self) -> None:
        pass


def test_statements_are_split_before_the_password_goes_in():
    """A password may hold `;`: the SQL is split into statements first, comments left out."""
    admin = FakeAdmin()
    make_lab_user(admin, SECRET, SQL)
    assert admin.executed == ["CREATE DATABASE IF NOT EXISTS `mylab`",
                              "CREATE USER IF NOT EXISTS 'demouser'@'%' IDENTIFIED BY 'pa;ss\\'word;x' REQUIRE SSL"]


def test_a_failing_statement_is_named_without_its_text_or_the_servers():
    """The server's error quotes the statement, password included: the error names the file, the
    statement's number and keyword and the MySQL code, nothing of the text."""
    with pytest.raises(LabSQLFailed) as failed:
        make_lab_user(FakeAdmin(fail_on="CREATE USER"), SECRET, SQL)
    message = str(failed.value)
    assert message == "labs/demouser.sql, statement 2 (CREATE ...): MySQL error 1064"
    assert "word" not in message and failed.value.__cause__ is None and failed.value.__suppress_context__


def test_lab_bs_appuser_is_made_from_its_own_sql_without_a_database():
    """labs/appuser.sql: the app's user, whose secret names no database."""
    admin = FakeAdmin()
    make_lab_user(admin, {"username": "appuser", "password": "p;w"},
                  "CREATE USER IF NOT EXISTS {username}@'%' IDENTIFIED BY {password};", "labs/appuser.sql")
    assert admin.executed == ["CREATE USER IF NOT EXISTS 'appuser'@'%' IDENTIFIED BY 'p;w'"]


def test_a_value_the_secret_does_not_have_is_named_with_the_file():
    with pytest.raises(LabSQLFailed, match=r"^labs/appuser.sql, statement 1: \{dbname\} is not a value of the "):
        make_lab_user(FakeAdmin(), {"username": "appuser", "password": "x"}, "GRANT USAGE ON {dbname}.* TO {username}",
                      "labs/appuser.sql")
