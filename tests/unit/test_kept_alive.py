"""The endpoints keep a client's connection alive between requests, as AWS's HTTPS endpoints do (HTTP/1.1
persistent connections: an SDK's connection pool makes one connection for many calls), in front of werkzeug's
server (moto's), which closes its connection after every answer (localaws/network/kept_alive.py)."""
from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from typing import Callable, Iterator

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from localaws.network import kept_alive
from localaws.relay import relay


@Request.application
def _echo(request: Request) -> Response:
    if request.path == "/stream":  # no length: werkzeug sends it chunked
        return Response(iter([b"one ", b"two"]), mimetype="text/plain")
    return Response(f"{request.method} {request.path} {len(request.get_data())}", headers={"X-Seen": "yes"})


class Backend:
    """werkzeug's threaded server (as moto runs it), counting the connections it is given."""

    def __init__(self) -> None:
        self.server = make_server("127.0.0.1", 0, _echo, threaded=True)
        self.connections = 0
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def connect(self) -> socket.socket:
        self.connections += 1
        return socket.create_connection(("127.0.0.1", self.server.server_port))


class Front:
    """A listener whose every connection is served by kept_alive.serve (the endpoints do the same over TLS)."""

    def __init__(self, connect_backend) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connect_backend = connect_backend
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            client.settimeout(10)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the endpoints do
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            kept_alive.serve(client, self.connect_backend, relay)
        finally:
            client.close()


@pytest.fixture
def backend() -> Iterator[Backend]:
    serving = Backend()
    yield serving
    serving.server.shutdown()


@pytest.fixture
def front(backend: Backend) -> Iterator[Front]:
    serving = Front(backend.connect)
    yield serving
    serving.listener.close()


def _answer(sock: socket.socket, method: str = "GET") -> http.client.HTTPResponse:
    answer = http.client.HTTPResponse(sock, method=method)
    answer.begin()
    return answer


def test_one_connection_carries_many_requests(front: Front, backend: Backend) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    seen, sockets = [], []
    for method, path, body in (("GET", "/a", None), ("POST", "/b", b"x" * 70000), ("GET", "/stream", None),
                               ("HEAD", "/c", None)):
        connection.request(method, path, body=body)
        answer = connection.getresponse()
        seen.append((answer.status, answer.read(), answer.will_close))
        sockets.append(connection.sock)
    # http.client reopens a closed connection silently: it never had to
    assert all(sock is sockets[0] for sock in sockets)
    assert seen == [(200, b"GET /a 0", False), (200, b"POST /b 70000", False), (200, b"one two", False),
                    (200, b"", False)]
    assert backend.connections == 4  # the backend still gets one connection per request


def test_expect_100_continue_is_answered_before_the_body(front: Front) -> None:
    """botocore sends S3 uploads with `Expect: 100-continue` and waits for the interim answer."""
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(b"PUT /object HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        answer = _answer(sock)
        assert (answer.status, answer.read(), answer.will_close) == (200, b"PUT /object 5", False)


def test_a_client_that_asks_to_close_is_closed(front: Front) -> None:
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = _answer(sock)
        assert (answer.read(), answer.getheader("Connection"), answer.will_close) == (b"GET /a 0", "close", True)
        assert sock.recv(10) == b""


def test_a_chunked_request_is_relayed_as_it_came_and_ends_the_connection(front: Front) -> None:
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        answer = _answer(sock)
        assert (answer.status, answer.read(), answer.getheader("Connection")) == (200, b"POST /c 3", "close")
        assert sock.recv(10) == b""


@contextlib.contextmanager
def _front_of(handle: Callable[[socket.socket], None]) -> Iterator[Front]:
    """A Front before a backend of our own making: each of its connections handled by `handle` on a thread."""
    backend = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        while True:
            try:
                conn, _ = backend.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    front = Front(lambda: socket.create_connection(backend.getsockname()))
    try:
        yield front
    finally:
        front.listener.close()
        backend.close()


def _request_head(conn: socket.socket) -> bytes:
    """What a backend reads of a request before it answers: up to the blank line that ends its head."""
    request = b""
    while b"\r\n\r\n" not in request:
        request += conn.recv(65536)
    return request


def _answer_old_style(conn: socket.socket) -> None:
    with conn:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")


def _answer_then_linger(conn: socket.socket) -> None:
    with conn:
        _request_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
        time.sleep(3)


def test_an_answer_that_ends_with_its_connection_gets_a_length() -> None:
    """An HTTP/1.0-style answer (no length, no chunks: it ends when the connection does) is measured, so that
    the client's connection can carry the next request."""
    with _front_of(_answer_old_style) as front:
        connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
        for _ in range(2):
            connection.request("GET", "/")
            answer = connection.getresponse()
            assert (answer.version, answer.getheader("Content-Length"), answer.read(), answer.will_close) == (
                11, "13", b"until the end", False)


def test_an_answer_with_a_length_is_passed_on_without_awaiting_the_backends_close() -> None:
    """A backend that keeps its connection open after answering (werkzeug reads on for 10 ms after each answer,
    in case more of the request comes) does not hold up the client's next request: an answer ends where its
    Content-Length says."""
    with _front_of(_answer_then_linger) as front:
        connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
        started = time.monotonic()
        for _ in range(2):
            connection.request("GET", "/")
            answer = connection.getresponse()
            assert (answer.read(), answer.will_close) == (b"hello", False)
        assert time.monotonic() - started < 2, "the second request waited for the first one's backend to close"


def test_the_backend_is_told_the_request_has_ended() -> None:
    """werkzeug, after each answer, reads on for 10 ms in case more of the request comes, then closes; an answer
    whose end is its connection's (werkzeug sends chunks when the application names no length) waited for that.
    The endpoint shuts its side for writing once the request is sent: the backend sees the end of its input at
    once, before it answers."""
    saw_the_end = []

    def answer_once_the_request_ended(conn: socket.socket) -> None:
        with conn:
            _request_head(conn)
            conn.settimeout(5)
            try:
                saw_the_end.append(conn.recv(1) == b"")
            except OSError:  # timed out: the request's end was never said
                saw_the_end.append(False)
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")

    with _front_of(answer_once_the_request_ended) as told:
        connection = http.client.HTTPConnection("127.0.0.1", told.port, timeout=10)
        connection.request("GET", "/")
        assert connection.getresponse().read() == b"ok"
    assert saw_the_end == [True]
