"""A real MariaDB/MySQL server process standing in for one RDS instance.

Its data directory is private, it listens on a free loopback port, and its master user has
what RDS gives the master user (all privileges, from any host). A pristine data directory
is initialised once per server version and copied, so a start costs about a second.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import weakref
from pathlib import Path

import pymysql
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from localaws.system_tools import require_tool

SERVER_PACKAGE = "mariadb-server"
_running: "weakref.WeakSet[MySQLServer]" = weakref.WeakSet()


class DatabaseStartError(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_binary() -> str:
    return require_tool(["mariadbd", "mysqld"], SERVER_PACKAGE)


def _version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("Ver", 1)[1].split()[0] if "Ver" in out else "unknown"


def _user_args() -> list[str]:
    return ["--user=root"] if os.geteuid() == 0 else []


def _template_dir(binary: str, version: str) -> Path:
    """A pristine, initialised data directory for this server version (made once)."""
    template = Path(tempfile.gettempdir()) / f"localaws-mysql-template-{version}"
    if (template / ".ready").exists():
        return template
    staging = Path(tempfile.mkdtemp(prefix="localaws-mysql-init-"))
    data = staging / "data"
    if "MariaDB" in version or Path(binary).name == "mariadbd":
        installer = require_tool(["mariadb-install-db", "mysql_install_db"], SERVER_PACKAGE)
        command = [installer, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=socket",
                   "--skip-test-db", *_user_args()]
    else:
        command = [binary, "--no-defaults", "--initialize-insecure", f"--datadir={data}", *_user_args()]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise DatabaseStartError(f"initialising a {version} data directory failed:\n{done.stderr[-2000:]}")
    (data / ".ready").touch()
    try:
        data.rename(template)
    except OSError:  # another process made it first
        shutil.rmtree(staging, ignore_errors=True)
    return template


class MySQLServer:
    host = "127.0.0.1"

    def __init__(self, base_dir: Path, master_username: str, master_password: str, port: int | None = None):
        self.base_dir = Path(base_dir)
        self.master_username = master_username
        self.master_password = master_password
        self.port = port or _free_port()
        self.binary = _server_binary()
        self.server_version = _version(self.binary)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_path(self) -> Path:
        return self.base_dir / "mysqld.sock"

    @property
    def error_log(self) -> Path:
        return self.base_dir / "error.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        first_start = not self.data_dir.exists()
        if first_start:
            self.base_dir.mkdir(parents=True, exist_ok=True)
            shutil.copytree(_template_dir(self.binary, self.server_version), self.data_dir)
        self.process = subprocess.Popen(
            [self.binary, "--no-defaults", f"--datadir={self.data_dir}", f"--socket={self.socket_path}",
             f"--port={self.port}", "--bind-address=127.0.0.1", f"--pid-file={self.base_dir / 'mysqld.pid'}",
             f"--log-error={self.error_log}", "--skip-name-resolve", "--innodb-buffer-pool-size=16M",
             "--innodb-log-file-size=8M", "--performance-schema=OFF", *_user_args()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _running.add(self)
        try:
            self._wait_until_accepting()
        except Exception:
            tail = self.error_log.read_text(errors="replace")[-2000:] if self.error_log.exists() else ""
            self.stop()
            raise DatabaseStartError(f"{self.server_version} on port {self.port} did not come up:\n{tail}") from None
        if first_start:
            self._create_master_user()

    @retry(stop=stop_after_delay(30), wait=wait_fixed(0.1), retry=retry_if_exception_type(pymysql.err.OperationalError),
           reraise=True)
    def _wait_until_accepting(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise DatabaseStartError("the server process exited")
        self.admin_connect().close()

    def admin_connect(self) -> pymysql.connections.Connection:
        """root over the unix socket: administration only, never reachable by TCP."""
        return pymysql.connect(unix_socket=str(self.socket_path), user="root", connect_timeout=2, autocommit=True)

    def _create_master_user(self) -> None:
        with self.admin_connect() as connection, connection.cursor() as cursor:
            for host in ("%", "localhost"):
                cursor.execute("CREATE USER %s@%s IDENTIFIED BY %s", (self.master_username, host, self.master_password))
                cursor.execute("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (self.master_username, host))

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        _running.discard(self)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base_dir, ignore_errors=True)


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()
