"""Loopback addresses that stand in for private and public IPs of the local AWS's hosts, and
free loopback ports for its own servers (the API endpoint, each database).

Each task and each instance with an SSH server gets an address of its own in 127.0.0.0/8,
so that its sshd listens on port 22 there, exactly where clients of the real one connect.
"""
from __future__ import annotations

import errno
import itertools
import os
import socket
import threading


# Each local AWS process starts at its own place in 127.77.0.0/16, and skips taken addresses,
# so that several local AWSs (a test session's and a self-test's) never share one.
_counter = itertools.count((os.getpid() % 250) * 250 + 1)
_lock = threading.Lock()


def _own_place() -> None:
    """A server forked from another (localaws/preloaded.py) starts at its own place too."""
    global _counter
    _counter = itertools.count((os.getpid() % 250) * 250 + 1)


os.register_at_fork(after_in_child=_own_place)
BASE = (127, 77)


class AddressUnavailable(RuntimeError):
    pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def internet_ports() -> set[int]:
    """What "the internet" is offline: the ports listening on this machine's 127.0.0.1 (a database a
    test runs outside AWS, say), but the local AWS's own API port (AWS is reached by its endpoints)."""
    own = int(os.environ.get("LOCALAWS_ENDPOINT", "http://127.0.0.1:0").rsplit(":", 1)[1])
    return {port for address, port in ipv4_listeners() if address in ("127.0.0.1", "0.0.0.0") and port != own}


LISTEN = "0A"  # the kernel's TCP_LISTEN, as /proc/net/tcp writes a socket's state


def ipv4_listeners() -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening in this network namespace, read from /proc/net/tcp:
    what psutil.net_connections finds, without reading every process's file descriptors for their owners
    (a tenth of the time on a busy machine, and the local AWS asks on every change of its network)."""
    found = set()
    with open("/proc/net/tcp", encoding="ascii") as table:
        next(table)  # the header
        for line in table:
            fields = line.split()
            if fields[3] != LISTEN:
                continue
            address, port = fields[1].split(":")
            found.add((socket.inet_ntoa(bytes.fromhex(address)[::-1]), int(port, 16)))
    return found


def allocate(port: int = 22, attempts: int = 64) -> str:
    """A fresh loopback address whose `port` is free."""
    for _ in range(attempts):
        with _lock:
            number = next(_counter) % (250 * 250)
        address = f"{BASE[0]}.{BASE[1]}.{number // 250}.{number % 250 + 1}"
        try:
            require_port(address, port)
            return address
        except AddressUnavailable:
            continue
    require_port(port=port)  # every address taken: name the likely cause
    raise AddressUnavailable(f"no free loopback address for port {port} after {attempts} tries")


def require_port(address: str = f"{BASE[0]}.{BASE[1]}.255.254", port: int = 22) -> None:
    """Fails with what to do when `port` cannot be bound on loopback addresses (checked before a run)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise AddressUnavailable(
                    f"port {port} on {address} is taken, most likely by an SSH server of this machine listening on "
                    f"0.0.0.0:{port}; the local AWS's hosts need port {port} on their loopback addresses: make the "
                    f"machine's sshd listen on a specific address (ListenAddress) or stop it") from None
            raise
