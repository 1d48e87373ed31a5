"""Relaying one plain TCP connection to another (not TLS: see localaws/network/endpoints.py).

Each connection has one owner thread: it relays one direction itself and the other on a helper
thread. A direction that ends half-closes both sockets (shutdown on a duplicate descriptor), and
only the owner closes them, once both directions are done: no socket is closed under a thread
still using it. `serve_each` is the accept loop of the local AWS's own small servers.
"""
from __future__ import annotations

import os
import socket
import threading
from typing import Callable


def serve_each(listener: socket.socket, stopped: threading.Event, handle: Callable[[socket.socket], None],
               name: str) -> None:
    """Accept connections until `stopped` or the listener closes; each handled on a thread of its own."""
    while not stopped.is_set():
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(connection,), name=name, daemon=True).start()


def _half_close(sock: socket.socket) -> None:
    try:
        duplicate = socket.socket(fileno=os.dup(sock.fileno()))
    except OSError:
        return
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        duplicate.close()


def _copy(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except (OSError, ValueError):
        pass
    finally:
        _half_close(target)
        _half_close(source)


def relay(first: socket.socket, second: socket.socket) -> None:
    """Copy both ways until either side ends; then close both. Runs on the calling thread."""
    helper = threading.Thread(target=_copy, args=(second, first), name="relay", daemon=True)
    helper.start()
    _copy(first, second)
    helper.join()
    for sock in (first, second):
        try:
            sock.close()
        except OSError:
            pass
