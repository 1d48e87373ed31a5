"""One client connection kept alive in front of a backend that closes after every answer.

AWS: its HTTPS endpoints keep a client's connection open between requests (HTTP/1.1 persistent
connections), so an SDK makes one TCP and TLS connection for many calls. Here the local AWS's HTTP
server (werkzeug's, under moto) sends `Connection: close` with every answer. Relayed byte for byte,
every SDK call from a function, an instance or a task would make a new connection: a TLS handshake
and, in botocore, a new load of its CA bundle (tens of milliseconds of CPU each time).

So the endpoint reads one request at a time from the client, sends it to the backend on a
connection of its own, and returns the answer without the backend's `Connection: close`. werkzeug,
after each answer, reads on for 10 ms in case more of the request comes, and only then closes: the
endpoint tells it the request has ended (shuts its side for writing), and passes an answer on as soon
as its Content-Length is there, so the client's next request does not wait for that close. A request
it does not take apart (an upgrade, a chunked body, a malformed head) is relayed as it was before:
byte for byte, and the connection ends with it.
"""
from __future__ import annotations

import socket
from typing import Callable

MAX_HEAD = 64 * 1024  # bytes of a request's or answer's head; more is no request this endpoint takes apart
# A request's head names how its body ends; an answer that names neither length nor chunks ends when its
# connection does, and then gets a length here so that the client's connection can go on.
NO_BODY_STATUSES = {204, 304}


class _Ended(Exception):
    """The client's side ended (closed, idle too long, or an unreadable request)."""


class _Reader:
    """Buffered reads from one socket (a TLS socket is read on one thread only)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = bytearray()

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise _Ended("closed")
        self.buffer += data

    def head(self) -> bytes:
        """Up to and including the blank line that ends a head."""
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise _Ended("head too long")
            self._more()
        head = bytes(self.buffer[:end + 4])
        del self.buffer[:end + 4]
        return head

    def exactly(self, length: int) -> bytes:
        while len(self.buffer) < length:
            self._more()
        data = bytes(self.buffer[:length])
        del self.buffer[:length]
        return data

    def rest(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _fields(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The start line and the header fields of a head (latin-1, as HTTP/1.1 allows)."""
    lines = head.decode("latin-1").split("\r\n")
    fields = []
    for line in lines[1:]:
        if line:
            name, colon, value = line.partition(":")
            if not colon:
                raise ValueError(f"not a header field: {line[:40]!r}")
            fields.append((name.strip(), value.strip()))
    return lines[0], fields


def _value(fields: list[tuple[str, str]], name: str) -> str | None:
    found = [value for key, value in fields if key.lower() == name]
    return found[-1] if found else None


def _head(start: str, fields: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join([start, *(f"{name}: {value}" for name, value in fields)]) + "\r\n\r\n").encode("latin-1")


def _without(fields: list[tuple[str, str]], *names: str) -> list[tuple[str, str]]:
    return [(key, value) for key, value in fields if key.lower() not in names]


def _length(fields: list[tuple[str, str]]) -> int | None:
    """The body's length a Content-Length field gives (not when chunks are sent, which take precedence)."""
    length = _value(fields, "content-length")
    if length is None or _value(fields, "transfer-encoding") is not None or not length.isdigit():
        return None
    return int(length)


def _receive_all(sock: socket.socket) -> bytes:
    chunks = []
    while data := sock.recv(65536):
        chunks.append(data)
    return b"".join(chunks)


def serve(client: socket.socket, connect_backend: Callable[[], socket.socket],
          relay_raw: Callable[[socket.socket, socket.socket], None]) -> None:
    """Answer the client's requests one by one until it closes, goes idle (its socket's timeout) or asks to
    close; `relay_raw` carries a request this does not take apart, and what follows it, byte for byte."""
    reader = _Reader(client)
    while True:
        try:
            request = reader.head()
        except (_Ended, OSError):
            return
        try:
            start, fields = _fields(request)
            method, _, version = start.split(" ", 2)
            length = int(_value(fields, "content-length") or 0)
        except ValueError:
            length = -1
            method = version = ""
        if length < 0 or _value(fields, "transfer-encoding") or _value(fields, "upgrade"):
            backend = connect_backend()
            backend.sendall(request + reader.rest())
            relay_raw(client, backend)
            return
        closing = version != "HTTP/1.1" or (_value(fields, "connection") or "").lower() == "close"
        try:
            if (_value(fields, "expect") or "").lower() == "100-continue":
                client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")  # the body is read here: the backend is not asked
                fields = _without(fields, "expect")
            body = reader.exactly(length)
        except (_Ended, OSError):
            return
        try:
            backend = connect_backend()
        except OSError:
            return
        try:
            backend.sendall(_head(start, _without(fields, "connection", "keep-alive")) + body)
            # The request is all the backend gets: werkzeug reads on for 10 ms after each answer in case more of
            # the request comes, and closes only then; told the end, it closes at once.
            backend.shutdown(socket.SHUT_WR)
            if not _answer(backend, client, method, closing):
                return
        except OSError:
            return
        finally:
            backend.close()
        if closing:
            return


def _answer(backend: socket.socket, client: socket.socket, method: str, closing: bool) -> bool:
    """The backend's answer, to the client, its connection kept unless `closing`; False if the answer could not
    be delimited (then relayed as it came, and the client's connection ends with it)."""
    answer = _Reader(backend)
    try:
        head = answer.head()
    except _Ended:
        return False
    try:
        status, fields = _fields(head)
        code = int(status.split(" ", 2)[1])
    except (ValueError, IndexError):
        client.sendall(head + answer.rest() + _receive_all(backend))
        return False
    fields = _without(fields, "connection", "keep-alive") + ([("Connection", "close")] if closing else [])
    if status.startswith("HTTP/1.0 "):
        status = "HTTP/1.1 " + status[len("HTTP/1.0 "):]
    bodiless = method == "HEAD" or code in NO_BODY_STATUSES or 100 <= code < 200
    delimited = (bodiless or _value(fields, "content-length") is not None
                 or _value(fields, "transfer-encoding") is not None)
    length = _length(fields)
    if length is not None:  # where the answer ends is known: the backend's close is not awaited
        try:
            body = b"" if bodiless else answer.exactly(length)
        except _Ended:  # the backend closed short of its own length
            client.sendall(head + answer.rest())
            return False
        client.sendall(_head(status, fields) + body)
    elif delimited:
        client.sendall(_head(status, fields) + answer.rest())
        while data := backend.recv(65536):
            client.sendall(data)
    else:
        body = answer.rest() + _receive_all(backend)
        client.sendall(_head(status, fields + [("Content-Length", str(len(body)))]) + body)
    return True
