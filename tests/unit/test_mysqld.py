"""localaws.mysqld.MySQLServer: a real database server process for one emulated RDS instance."""
from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pymysql
import pytest

from localaws import system_tools
from localaws.mysqld import DatabaseStartError, MySQLServer
from localaws.system_tools import MissingSystemTool

MASTER = "admin"
# Printable ASCII but for / @ " ' \ and the backtick: what an RDS master password may hold.
PASSWORD = "Pa%s;w(o)r#d!$&*-_=+[]{}|:,.<>?~^1"
ACCESS_DENIED = {1045, 1698}
CANNOT_CONNECT = 2003


def _connect(server: MySQLServer, user: str = MASTER, password: str = PASSWORD, **options) -> pymysql.Connection:
    return pymysql.connect(host=server.host, port=server.port, user=user, password=password, connect_timeout=3,
                           autocommit=True, **options)


def _login_error(server: MySQLServer, user: str = MASTER, password: str = PASSWORD) -> int | None:
    try:
        _connect(server, user, password).close()
        return None
    except pymysql.err.OperationalError as error:
        return error.args[0]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    database = MySQLServer(tmp_path_factory.mktemp("mysqld"), MASTER, PASSWORD)
    started = time.monotonic()
    database.start()
    database.start_seconds = time.monotonic() - started
    try:
        yield database
    finally:
        database.remove()


def test_master_user_logs_in_over_tcp_with_everything_rds_grants(server):
    """The master user, from any host and from localhost, with ALL PRIVILEGES ... WITH GRANT OPTION."""
    assert server.running and server.host == "127.0.0.1"
    with _connect(server) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER(), VERSION()")
        user, version = cursor.fetchone()
        cursor.execute("SHOW GRANTS")
        (grant,) = [row[0] for row in cursor.fetchall() if "ON *.*" in row[0]]
    assert user == f"{MASTER}@%"
    assert version == server.server_version
    assert "ALL PRIVILEGES ON *.*" in grant and "WITH GRANT OPTION" in grant
    with server.admin_connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT host FROM mysql.user WHERE user = %s ORDER BY host", (MASTER,))
        assert [row[0] for row in cursor.fetchall()] == ["%", "localhost"]
        cursor.execute("SHOW GRANTS FOR %s@'localhost'", (MASTER,))
        assert any("ALL PRIVILEGES ON *.*" in row[0] and "WITH GRANT OPTION" in row[0] for row in cursor.fetchall())


def test_only_the_master_password_and_no_root_over_tcp(server):
    assert _login_error(server, password="not-the-password") in ACCESS_DENIED
    assert _login_error(server, user="root", password="") in ACCESS_DENIED
    assert _login_error(server, user="root", password=PASSWORD) in ACCESS_DENIED


def test_private_loopback_server_with_its_files_under_base_dir(server):
    with server.admin_connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT @@bind_address, @@port, @@datadir, @@socket, @@log_error")
        bind, port, datadir, socket_path, log_error = cursor.fetchone()
    assert bind == "127.0.0.1" and port == server.port
    assert datadir.rstrip("/") == str(server.data_dir)
    assert socket_path == str(server.socket_path) and log_error == str(server.error_log)
    assert server.error_log.exists() and server.data_dir.is_relative_to(server.base_dir)


def test_start_is_fast(server):
    """A copy of the pristine data directory, not an initialisation per server (generous bound for CI)."""
    assert server.start_seconds < 10, f"start took {server.start_seconds:.2f} s"


def test_stop_then_start_keeps_data_port_and_users(server):
    """RDS StopDBInstance / StartDBInstance: no connections while stopped, everything as before after."""
    with _connect(server) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE kept")
        cursor.execute("CREATE TABLE kept.note (text VARCHAR(20))")
        cursor.execute("INSERT INTO kept.note VALUES ('still here')")
    port, pid = server.port, server.process.pid

    server.stop()
    assert not server.running and _gone(pid)
    assert _login_error(server) == CANNOT_CONNECT

    server.start()
    assert server.running and server.port == port
    with _connect(server, database="kept") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT text FROM note")
        assert cursor.fetchall() == (("still here",),)
    assert _login_error(server, password="not-the-password") in ACCESS_DENIED


def test_remove_leaves_no_process_and_no_files(tmp_path):
    database = MySQLServer(tmp_path / "db", MASTER, PASSWORD)
    database.start()
    pid, port = database.process.pid, database.port
    database.remove()
    assert _gone(pid) and not database.running
    assert not database.base_dir.exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_forgotten_server_is_stopped_when_collected(tmp_path):
    """The weakref finalizer (also run at interpreter exit): no server outlives its object."""
    database = MySQLServer(tmp_path / "db", MASTER, PASSWORD)
    database.start()
    pid = database.process.pid
    del database
    gc.collect()
    assert _gone(pid)


def test_start_failure_names_the_cause_and_leaves_nothing_running(tmp_path):
    """A port already taken: the error carries the end of the server's error log."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        database = MySQLServer(tmp_path / "db", MASTER, PASSWORD, port=taken.getsockname()[1])
        with pytest.raises(DatabaseStartError, match="did not come up") as failed:
            database.start()
    assert "Address already in use" in str(failed.value) or "Bind on TCP/IP port" in str(failed.value)
    assert not database.running
    assert not database.data_dir.exists()  # the next start initialises again


AS_A_NORMAL_USER = textwrap.dedent("""
    import sys, pymysql
    from localaws.mysqld import MySQLServer
    server = MySQLServer(sys.argv[1], "admin", "Norm4l-user")
    server.start()
    try:
        pymysql.connect(host=server.host, port=server.port, user="admin", password="Norm4l-user").close()
        with server.admin_connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT CURRENT_USER()")
            print(cursor.fetchone()[0])
    finally:
        server.remove()
""")


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to become nobody")
def test_works_as_a_normal_user():
    """Without --user=root: the administrator is the OS user's own socket-authenticated account."""
    base = Path(tempfile.mkdtemp(prefix="localaws-test-nobody-"))  # pytest's tmp_path is root's alone
    try:
        os.chown(base, 65534, 65534)
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                               AS_A_NORMAL_USER, str(base / "db")], capture_output=True, text=True, timeout=120,
                              cwd=Path(__file__).resolve().parents[2], env={**os.environ, "HOME": str(base)})
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "nobody@localhost"


def test_missing_server_binary_names_the_debian_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(system_tools, "SBIN_DIRS", (str(tmp_path),))
    with pytest.raises(MissingSystemTool) as missing:
        MySQLServer(tmp_path / "db", MASTER, PASSWORD)
    message = str(missing.value)
    assert "'mariadb-server'" in message and "apt-get install mariadb-server" in message
    assert "\n" not in message
