"""localaws.database.server.MySQLServer: a real database server process for one emulated RDS instance."""
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
from localaws.database.server import DatabaseStartError, MySQLServer
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
    from localaws.database.server import MySQLServer
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


@pytest.fixture(scope="module")
def mysql8(tmp_path_factory: pytest.TempPathFactory):
    """MariaDB standing in for MySQL 8.0.46, with TLS as an RDS instance offers it."""
    state = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOCALAWS_STATE_DIR", str(state))
        from localaws import certificates

        issued = certificates.issue("rds-unit", ["localhost"], ["127.0.0.1"])
        bundle = certificates.bundle()
    database = MySQLServer(tmp_path_factory.mktemp("mysql8"), MASTER, PASSWORD, answers_as="8.0.46",
                           tls=(bundle, issued.certificate, issued.key))
    started = time.monotonic()
    database.start()
    database.start_seconds = time.monotonic() - started
    database.bundle = bundle
    try:
        yield database
    finally:
        database.remove()


def test_answers_as_the_mysql_version_it_was_asked_for(mysql8):
    """MySQL's VERSION() and the greeting's server version are the server's version ("8.0.46"; RDS for MySQL
    reports the instance's engine version there); the server behind the front listens elsewhere."""
    if not mysql8.mariadb:
        pytest.skip("a real MySQL server answers as itself")
    with _connect(mysql8, ssl_ca=str(mysql8.bundle)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION(), @@version")
        assert cursor.fetchone() == ("8.0.46", "8.0.46")
        assert connection.get_server_info() == "8.0.46"
    assert mysql8.front is not None and mysql8.server_port != mysql8.port
    # as test_start_is_fast: a bound CI meets while the other pytest-xdist worker loads the machine (2.8 s seen)
    assert mysql8.start_seconds < 10, f"start took {mysql8.start_seconds:.2f} s"


def test_the_front_keeps_tls_true_end_to_end(mysql8):
    """The client's TLS is verified against the CA bundle, and the session's Ssl_version is the protocol the
    client negotiated (MySQL: SHOW SESSION STATUS LIKE 'Ssl_version'); without TLS it is empty."""
    with _connect(mysql8, ssl_ca=str(mysql8.bundle), ssl_verify_identity=True) as connection:
        negotiated = connection._sock.version()
        with connection.cursor() as cursor:
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
            assert cursor.fetchone()[1] == negotiated
    with _connect(mysql8, ssl_disabled=True) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cursor.fetchone()[1] == ""
        cursor.execute("SELECT %s", ("x" * 3_000_000,))  # packets longer than one read pass whole
        assert len(cursor.fetchone()[0]) == 3_000_000


def test_mysql8_password_statements_change_the_password(mysql8):
    """MySQL 8: `ALTER USER CURRENT_USER() IDENTIFIED BY` and `SET PASSWORD = 'clear text'` change the
    connected account's password (reference manual, "ALTER USER Statement", "SET PASSWORD Statement"), and
    `SET PASSWORD = PASSWORD(...)` is a syntax error (PASSWORD() was removed in 8.0.11)."""
    old, password = PASSWORD, PASSWORD
    for statement, new in (("ALTER USER CURRENT_USER() IDENTIFIED BY %s", "Alter-Current-User-1"),
                           ("SET PASSWORD = %s", "Set-Password-Clear-2")):
        with _connect(mysql8, password=password) as connection, connection.cursor() as cursor:
            cursor.execute(statement, (new,))
        assert _login_error(mysql8, password=password) in ACCESS_DENIED
        assert _login_error(mysql8, password=new) is None
        password = new
    with _connect(mysql8, password=password) as connection, connection.cursor() as cursor:
        with pytest.raises(pymysql.err.ProgrammingError) as refused:
            cursor.execute("SET PASSWORD = PASSWORD(%s)", ("Never-Set-3",))
        assert refused.value.args[0] == 1064
        cursor.execute("SELECT 1")  # the connection goes on after the refusal
        assert cursor.fetchone() == (1,)
        cursor.execute("ALTER USER CURRENT_USER() IDENTIFIED BY %s", (old,))
    assert _login_error(mysql8, password="Never-Set-3") in ACCESS_DENIED


def test_a_stopped_mysql8_stand_in_refuses_connections_and_starts_again(mysql8):
    """Stop closes the front's port as well as the server's; start serves the same port again."""
    mysql8.stop()
    try:
        assert _login_error(mysql8) == CANNOT_CONNECT
    finally:
        mysql8.start()
    with _connect(mysql8) as connection:
        assert connection.get_server_info() == ("8.0.46" if mysql8.mariadb else mysql8.server_version)


def test_mysql_56_and_mariadb_need_no_front(tmp_path):
    """MySQL 5.6 takes `SET PASSWORD = 'hash'` as MariaDB does: only the version is MySQL's."""
    old = MySQLServer(tmp_path / "a", MASTER, PASSWORD, answers_as="5.6.21")
    assert old.server_port == old.port
    plain = MySQLServer(tmp_path / "b", MASTER, PASSWORD)
    assert plain.answers_as is None and plain.server_port == plain.port


@pytest.fixture(scope="module")
def mysql84(tmp_path_factory: pytest.TempPathFactory, mysql8):
    database = MySQLServer(tmp_path_factory.mktemp("mysql84"), MASTER, PASSWORD, answers_as="8.4.6", tls=mysql8.tls)
    database.start()
    database.bundle = mysql8.bundle
    try:
        yield database
    finally:
        database.remove()


class _NativeFirstConnection(pymysql.connections.Connection):
    """A client that answers the greeting for mysql_native_password whatever the server names (as
    `mysql --default-auth=mysql_native_password` does)."""

    def _get_server_information(self):
        super()._get_server_information()
        self._auth_plugin_name = "mysql_native_password"


@pytest.mark.parametrize("route", ["tls", "rsa", "switched"])
def test_mysql84_logs_in_with_caching_sha2_password(mysql84, route):
    """MySQL 8.4: caching_sha2_password is the default authentication plugin (reference manual, "Caching
    SHA-2 Pluggable Authentication"): full authentication sends the password over TLS, or RSA-encrypted
    with the server's public key without TLS; a client that answered for another plugin is switched
    (AuthSwitchRequest). A wrong password is refused with 1045 either way."""
    if not mysql84.mariadb:
        pytest.skip("a real MySQL server logs in as itself")
    options = {"tls": {"ssl_ca": str(mysql84.bundle)}, "rsa": {"ssl_disabled": True},
               "switched": {"ssl_ca": str(mysql84.bundle)}}[route]
    connect = _NativeFirstConnection if route == "switched" else pymysql.connect
    with connect(host=mysql84.host, port=mysql84.port, user=MASTER, password=PASSWORD, connect_timeout=3,
                 **options) as connection, connection.cursor() as cursor:
        # (a switched client keeps the name it started with; it got in by answering the switch)
        assert route == "switched" or connection._auth_plugin_name == "caching_sha2_password"
        cursor.execute("SELECT VERSION(), CURRENT_USER()")
        assert cursor.fetchone() == ("8.4.6", f"{MASTER}@%")
    with pytest.raises(pymysql.err.OperationalError) as refused:
        connect(host=mysql84.host, port=mysql84.port, user=MASTER, password="not-the-password", connect_timeout=3,
                **options)
    assert refused.value.args[0] == 1045
