"""What the unit tests share: the workshop's template, parsed once (test_template*.py), and one
real database server for the rotation function's tests (test_rotation_function*.py)."""
from __future__ import annotations

import secrets
from typing import Iterator

import pytest

from localaws.database.server import MySQLServer
from suite.controls import template as tc
from tests.support.template_file import TEMPLATE_PATH


@pytest.fixture(scope="session")
def template() -> dict:
    return tc.load_template(TEMPLATE_PATH)


@pytest.fixture(scope="session")
def text() -> str:
    return TEMPLATE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MySQLServer]:
    """A MariaDB/MySQL server with a master user and an `appdb` database; each test makes its own user."""
    server = MySQLServer(tmp_path_factory.mktemp("rotation-db"), "master", "Master-" + secrets.token_hex(8))
    server.start()
    with server.admin_connect() as connection, connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE appdb")
    try:
        yield server
    finally:
        server.remove()
