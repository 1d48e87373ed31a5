"""Connections into and out of a sandbox's own network namespace, only where allowed.

A sandbox started with `bwrap --unshare-net` has only its loopback interface. A flow the network
model allows gets a listener *inside* that namespace (a thread enters it with setns(2), binds,
and comes back), whose connections are relayed to the real address outside. A flow it refuses
gets a listener whose accept queue is kept full, so the kernel drops the SYNs: the client's
connect times out, as a packet a security group or a missing route drops does in AWS (not
"connection refused").
"""
from __future__ import annotations

import ctypes
import errno
import os
import socket
import threading
import time
from typing import Callable

from localaws.relay import relay

CLONE_NEWNET = 0x40000000
LOOPBACK_TIMEOUT = 15.0  # seconds
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def _enter(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")



class NamespaceForwards:
    def __init__(self, pid: int):
        self._target = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()

    def _inside(self, make: Callable[[], list[socket.socket]]) -> list[socket.socket]:
        """Run `make` on a thread that has entered the namespace (its sockets are made there)."""
        made: list[socket.socket] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                _enter(self._target)
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
        if failure:
            raise failure[0]
        self._sockets.extend(made)
        return made

    def forward(self, address: str, port: int, target: tuple[str, int]) -> None:
        """Connections to address:port inside go to `target` outside."""
        [listener] = self._inside(lambda: [socket.create_server((address, port), backlog=64)])
        threading.Thread(target=self._accept, args=(listener, target), name="netns-forward", daemon=True).start()

    def black_hole(self, address: str, port: int) -> None:
        """SYNs to address:port inside go unanswered."""
        def make() -> list[socket.socket]:
            made = [socket.socket()]
            try:
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
                for sock in made:  # a retry binds the same address again
                    sock.close()
                raise
            return made

        self._inside(make)

    def _accept(self, listener: socket.socket, target: tuple[str, int]) -> None:
        while not self._closed.is_set():
            try:
                inner, _ = listener.accept()
            except OSError:
                return
            try:
                outer = socket.create_connection(target, timeout=10)
                outer.settimeout(None)
            except OSError:
                inner.close()
                continue
            for end in (inner, outer):
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=relay, args=(inner, outer), name="netns-relay", daemon=True).start()

    def close(self) -> None:
        """Close the listeners (a connection still open ends with its own relay)."""
        if self._closed.is_set():
            return
        self._closed.set()
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        os.close(self._target)

