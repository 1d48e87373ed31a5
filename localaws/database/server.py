"""A real MariaDB/MySQL server process standing in for one RDS instance.

Its data directory is private, it listens on a free loopback port only, and its master user
has what RDS gives the master user (all privileges with grant option, from any host). A
pristine data directory is initialised once per server version and OS user, kept in the
user's cache directory (`$XDG_CACHE_HOME/smdemo-localaws`, a cache, not a run's file), then
copied, so a start costs well under a second. The server dies with the local AWS
(localaws/processes.py).

Where only MariaDB is installed (Debian has no MySQL 8 server package), a server asked to answer as
MySQL `answers_as` (the instance's EngineVersion) says that version in VERSION() and its greeting
(MariaDB's `--version` startup option), and from MySQL 5.7 on it is reached through a front
(localaws/database/front.py) that makes the MySQL 8 password statements do what they do in MySQL 8
(`ALTER USER CURRENT_USER() IDENTIFIED BY`, `SET PASSWORD = '...'`, no PASSWORD() function).
From MySQL 8.4 on, the front logs clients in with caching_sha2_password, MySQL 8.4's default
(localaws/database/sha2_login.py); before, mysql_native_password (RDS MySQL 8.0's default).
Known gaps: it is still MariaDB 10.11 underneath: mysql.user names mysql_native_password for every
account, an account IDENTIFIED WITH another plugin cannot log in to an 8.4 one, @@version_comment is
MariaDB's, PASSWORD() is refused only inside SET PASSWORD, and other MySQL-8-only SQL (dual passwords
with `RETAIN CURRENT PASSWORD`, `IDENTIFIED WITH caching_sha2_password`, those password statements
among several in one query) behaves as MariaDB's.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import weakref
from pathlib import Path

import pymysql
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

from localaws import processes
from localaws.database.front import MySQLFront
from localaws.network.addresses import free_port
from localaws.removals import remove_later
from localaws.system_tools import require_tool

SERVER_PACKAGE = "mariadb-server"
SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes; the server refuses more than 107
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
# Small, and the same at initialisation and at every start, so InnoDB never resizes its redo log.
TUNING = ("--innodb-buffer-pool-size=16M", "--innodb-log-file-size=8M", "--performance-schema=OFF",
          "--skip-name-resolve")
NOT_UP_YET = {2002, 2003, 2006, 2013}  # MySQL client errors while the server is still starting
FRONTED_FROM = (5, 7)  # the MySQL versions whose password statements MariaDB takes differently
SHA2_LOGINS_FROM = (8, 4)  # MySQL 8.4 logs in with caching_sha2_password by default (RDS MySQL 8.0: native)


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("-")[0].split(".") if part.isdigit())


class DatabaseStartError(RuntimeError):
    pass


@functools.lru_cache(maxsize=None)
def _identify(binary: str) -> tuple[str, bool]:
    """(version, is MariaDB) of a server binary, e.g. ("10.11.19-MariaDB-0+deb12u1", True)."""
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    version = out.split("Ver", 1)[1].split()[0] if "Ver" in out else "unknown"
    return version, "mariadb" in version.lower() or Path(binary).name == "mariadbd"


def _user_args() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []


def _admin_user(mariadb: bool) -> str:
    # MariaDB authenticates its administrator through the unix socket by OS user name: root for
    # root, else the account mariadb-install-db makes for the user running it.
    if not mariadb or os.geteuid() == 0:
        return "root"
    return pwd.getpwuid(os.geteuid()).pw_name


def _template_dir(binary: str, version: str, mariadb: bool) -> Path:
    """A pristine, initialised data directory for this server version and OS user (made once)."""
    template = _cache_dir() / f"mysql-template-{version}-uid{os.geteuid()}"
    with open(f"{template}.lock", "a") as lock:  # several processes may start servers at once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if template.is_dir():
            if template.stat().st_uid != os.geteuid():
                raise DatabaseStartError(f"{template} belongs to another user: remove it")
            return template
        staging = Path(tempfile.mkdtemp(prefix="mysql-init-", dir=template.parent))
        try:
            data = staging / "data"
            if mariadb:
                installer = require_tool(["mariadb-install-db", "mysql_install_db"], SERVER_PACKAGE)
                command = [installer, "--no-defaults", f"--datadir={data}", "--skip-test-db",
                           "--auth-root-authentication-method=socket",
                           f"--auth-root-socket-user={_admin_user(mariadb)}", *_user_args(), *TUNING]
            else:
                command = [binary, "--no-defaults", "--initialize-insecure", f"--datadir={data}", *_user_args(),
                           *TUNING]
            done = processes.run(command, capture_output=True, text=True, cwd=staging)
            if done.returncode != 0:
                raise DatabaseStartError(f"initialising a {version} data directory failed:\n"
                                         f"{(done.stderr or done.stdout)[-2000:]}")
            data.rename(template)  # atomic: a template directory is always complete
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return template


def _cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "smdemo-localaws"
    base.mkdir(parents=True, exist_ok=True)
    return base


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """Clean shutdown (SIGTERM), SIGKILL after a bounded wait."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class MySQLServer:
    """One server: `start()`, `stop()` (data kept, as RDS StopDBInstance), `remove()`."""

    host = "127.0.0.1"

    def __init__(self, base_dir: Path, master_username: str, master_password: str, port: int | None = None,
                 tls: tuple[Path, Path, Path] | None = None, answers_as: str | None = None):
        self.base_dir = Path(base_dir)
        self.tls = tls  # (CA bundle, certificate, key): the server then offers TLS, as every RDS instance does
        self.master_username = master_username
        self.master_password = master_password
        self.binary = require_tool(["mariadbd", "mysqld"], SERVER_PACKAGE)
        self.server_version, self.mariadb = _identify(self.binary)
        self.port = port or free_port()
        # MariaDB standing in for MySQL `answers_as`: that version, and a front from 5.7 on.
        self.answers_as = answers_as if self.mariadb else None
        fronted = self.answers_as is not None and _numbers(self.answers_as) >= FRONTED_FROM
        self.server_port = free_port() if fronted else self.port  # where the server itself listens
        self.front: MySQLFront | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_path(self) -> Path:
        path = self.base_dir / "mysqld.sock"
        if len(str(path)) <= SOCKET_PATH_MAX:
            return path
        # A unix socket path longer than 107 bytes makes the server abort at start: use a short,
        # stable (per data directory) path instead.
        digest = hashlib.sha256(str(self.base_dir.resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"localaws-mysqld-{digest}.sock"

    @property
    def error_log(self) -> Path:
        return self.base_dir / "error.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        fresh = not self.data_dir.exists()
        if fresh:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(_template_dir(self.binary, self.server_version, self.mariadb), self.data_dir)
        flavour = [] if self.mariadb else ["--mysqlx=OFF", "--skip-log-bin"]  # no second port, no binlog
        if self.answers_as:
            flavour.append(f"--version={self.answers_as}")
        if self.tls:
            flavour += [f"--ssl-ca={self.tls[0]}", f"--ssl-cert={self.tls[1]}", f"--ssl-key={self.tls[2]}"]
        with open(self.error_log, "ab") as log:  # early failures (bad option) land in the same file
            self.process = processes.spawn(
                [self.binary, "--no-defaults", f"--datadir={self.data_dir}", f"--socket={self.socket_path}",
                 f"--port={self.server_port}", "--bind-address=127.0.0.1", f"--pid-file={self.base_dir / 'mysqld.pid'}",
                 f"--log-error={self.error_log}", *TUNING, *flavour, *_user_args()],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
        # Runs on stop(), when this object is collected, and at interpreter exit: no server outlives us.
        self._finalizer = weakref.finalize(self, _terminate, self.process)
        try:
            self._wait_until_accepting()
            if fresh:
                self._create_master_user()
            if self.server_port != self.port:
                self.front = MySQLFront(self.port, self.server_port, self.tls[1:] if self.tls else None,
                                        sha2=_numbers(self.answers_as or "") >= SHA2_LOGINS_FROM)
        except Exception as error:
            self.stop()
            if fresh:  # the next start initialises again rather than reusing a half-made directory
                shutil.rmtree(self.data_dir, ignore_errors=True)
            tail = self.error_log.read_text(errors="replace")[-2000:] if self.error_log.exists() else ""
            raise DatabaseStartError(f"{self.server_version} on {self.host}:{self.port} did not come up "
                                     f"({type(error).__name__}: {error}); end of {self.error_log}:\n{tail}") from None

    def _wait_until_accepting(self) -> None:
        not_up_yet = retry_if_exception(
            lambda e: isinstance(e, pymysql.err.OperationalError) and e.args[0] in NOT_UP_YET)
        for attempt in Retrying(stop=stop_after_delay(START_TIMEOUT), wait=wait_fixed(0.05), retry=not_up_yet,
                                reraise=True):
            with attempt:
                if self.process is None or self.process.poll() is not None:
                    raise DatabaseStartError("the server process exited")
                self.admin_connect().close()

    def admin_connect(self) -> pymysql.connections.Connection:
        """The administrator (root) over the unix socket: never reachable by TCP."""
        # No TLS on the socket: pymysql's default (TLS if the server offers it) builds a context with the
        # system's CA store at every connection, a few tens of milliseconds of CPU, for nothing.
        return pymysql.connect(unix_socket=str(self.socket_path), user=_admin_user(self.mariadb),
                               connect_timeout=2, autocommit=True, ssl_disabled=True)

    def _create_master_user(self) -> None:
        # As RDS: the master user from anywhere, with everything it may grant on.
        with self.admin_connect() as connection, connection.cursor() as cursor:
            for host in ("%", "localhost"):
                cursor.execute("CREATE USER %s@%s IDENTIFIED BY %s", (self.master_username, host, self.master_password))
                cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (self.master_username, host))

    def stop(self) -> None:
        if self.front is not None:
            self.front.stop()
            self.front = None
        if self._finalizer is not None:
            self._finalizer()
        self._finalizer = None
        self.process = None
        # A server stopped the hard way (its shutdown ran out of time) leaves its socket file behind, which may
        # live outside base_dir, in TMPDIR: nothing of a run may outlive it.
        self.socket_path.unlink(missing_ok=True)

    def remove(self) -> None:
        """The instance deleted: its data goes with it, so no clean shutdown is owed (SIGKILL at once)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)
        self.stop()
        remove_later(self.base_dir)
        self.socket_path.unlink(missing_ok=True)  # it may live outside base_dir
