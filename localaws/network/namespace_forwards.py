"""Connections into and out of a sandbox's own network namespace, only where allowed.

A sandbox started with `bwrap --unshare-net` has only its loopback interface. A flow the network
model allows gets a listener *inside* that namespace (a thread enters it with setns(2), binds,
and comes back), whose connections are relayed to the real address outside, or into another
sandbox's namespace (a socket made there). A flow it refuses gets a listener whose accept queue
is kept full, so the kernel drops the SYNs: the client's connect times out, as a packet a
security group or a missing route drops does in AWS (not "connection refused").
The same wiring without a pid works in this process's own namespace: the side the suite, "the
internet", connects from. A `Plan` says what each address:port does; `apply` makes the wiring
what a plan says, changing only what changed.
"""
from __future__ import annotations

import ctypes
import errno
import os
import socket
import threading
import time
from typing import Callable, Union

from localaws.relay import relay

CLONE_NEWNET = 0x40000000
LOOPBACK_TIMEOUT = 15.0  # seconds
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
Connector = Callable[[], socket.socket]
HOLE = "black hole"
# For each address:port: what it does ("forward to ...", or HOLE) and, for a forward, where its
# connections go (an address outside, or a connector that makes the socket).
Plan = dict[tuple[str, int], tuple[str, Union[tuple[str, int], Connector, None]]]


def _enter(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


class NamespaceForwards:
    def __init__(self, pid: int | None):
        """The wiring of the namespace process `pid` is in (None: this process's own)."""
        self._target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY) if pid is not None else None
        self._wired: dict[tuple[str, int], tuple[str, list[socket.socket]]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def _inside(self, make: Callable[[], list[socket.socket]]) -> list[socket.socket]:
        """Run `make` on a thread that has entered the namespace (its sockets are made there)."""
        if self._target is None:
            return make()
        with self._lock:  # a descriptor of our own: close() may run meanwhile, and its number be reused
            if self._closed.is_set():
                raise OSError(errno.ENETUNREACH, "the sandbox's network namespace is gone")
            target = os.dup(self._target)
        made: list[socket.socket] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                _enter(target)
                # bwrap names the sandbox's process before it has brought the loopback up (it must be
                # bwrap that does: it fails if the address is there already): wait for it.
                deadline = time.monotonic() + LOOPBACK_TIMEOUT
                while True:
                    try:
                        made.extend(make())
                        return
                    except OSError as error:
                        if error.errno not in (errno.EADDRNOTAVAIL, errno.ENETUNREACH) or time.monotonic() > deadline:
                            raise
                        time.sleep(0.01)
            except BaseException as error:  # noqa: BLE001 - reported to the caller
                failure.append(error)

        thread = threading.Thread(target=run, name="netns-bind")  # a thread of its own: it never comes back
        thread.start()
        thread.join()
        os.close(target)
        if failure:
            raise failure[0]
        return made

    def _keep(self, address: str, port: int, kind: str, sockets: list[socket.socket]) -> None:
        with self._lock:
            if self._closed.is_set():
                _close_all(sockets)
                return
            self._wired[(address, port)] = (kind, sockets)

    def wired(self) -> dict[tuple[str, int], str]:
        """What each wired address:port does ("forward ...", "black hole")."""
        with self._lock:
            return {key: kind for key, (kind, _) in self._wired.items()}

    def forward(self, address: str, port: int, target: tuple[str, int] | Connector, kind: str = "") -> None:
        """Connections to address:port inside go to `target` outside (or to the socket it makes)."""
        connect = target if callable(target) else (lambda: socket.create_connection(target, timeout=10))
        [listener] = self._inside(lambda: [socket.create_server((address, port), backlog=64)])
        self._keep(address, port, kind or f"forward to {target}", [listener])
        threading.Thread(target=self._accept, args=(listener, connect), name="netns-forward", daemon=True).start()

    def black_hole(self, address: str, port: int) -> None:
        """SYNs to address:port inside go unanswered."""
        def make() -> list[socket.socket]:
            made = [socket.socket()]
            try:
                made[0].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # where a forward was just now
                made[0].bind((address, port))
                made[0].listen(0)
                for _ in range(2):  # fill the accept queue: the next SYNs are dropped
                    filler = socket.socket()
                    made.append(filler)
                    filler.setblocking(False)
                    try:
                        filler.connect((address, port))
                    except BlockingIOError:
                        pass
            except OSError:
                _close_all(made)  # a retry binds the same address again
                raise
            return made

        self._keep(address, port, HOLE, self._inside(make))

    def apply(self, plan: Plan, keep: Callable[[tuple[str, int]], bool] = lambda key: False,
              on_error: Callable[[tuple[str, int], str, OSError], None] | None = None) -> None:
        """Make the wiring what `plan` says: what it no longer has goes (but what `keep` keeps),
        what is new or changed is wired. A flow that cannot be wired raises, or goes to `on_error`
        and the others are wired still."""
        current = self.wired()
        for key, kind in current.items():
            if not keep(key) and (key not in plan or plan[key][0] != kind):
                self.unwire(*key)
        for key, (kind, target) in plan.items():
            if current.get(key) == kind:
                continue
            try:
                if kind == HOLE:
                    self.black_hole(*key)
                else:
                    assert target is not None
                    self.forward(*key, target, kind=kind)
            except OSError as error:
                if on_error is None:
                    raise
                on_error(key, kind, error)

    def unwire(self, address: str, port: int) -> None:
        """Whatever listens at address:port stops (connections already relayed go on)."""
        with self._lock:
            _, sockets = self._wired.pop((address, port), ("", []))
        _close_all(sockets)

    def connect_inside(self, address: str, port: int, timeout: float = 10) -> socket.socket:
        """A connection to address:port as seen from inside the namespace."""
        [sock] = self._inside(lambda: [socket.socket()])
        try:
            sock.settimeout(timeout)
            sock.connect((address, port))
            sock.settimeout(None)
        except OSError:
            sock.close()
            raise
        return sock

    def _accept(self, listener: socket.socket, connect: Connector) -> None:
        while not self._closed.is_set():
            try:
                inner, _ = listener.accept()
            except OSError:
                return
            try:
                outer = connect()
                outer.settimeout(None)
            except OSError:
                inner.close()
                continue
            for end in (inner, outer):
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=relay, args=(inner, outer), name="netns-relay", daemon=True).start()

    def close(self) -> None:
        """Close the listeners (a connection still open ends with its own relay)."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            wired, self._wired = self._wired, {}
        for _, sockets in wired.values():
            _close_all(sockets)
        if self._target is not None:
            os.close(self._target)


def _close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
