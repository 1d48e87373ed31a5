"""A MySQL-protocol front that lets a MariaDB server answer as MySQL 8 (what localaws/database/server.py uses
when an RDS MySQL 8 instance runs on MariaDB).

Clients connect here; each connection is relayed to the server's own loopback port. Everything
passes unchanged (the greeting, the login, every answer) but:
- a query (COM_QUERY) goes through localaws/database/mysql8_statements.py: the few MySQL 8 statements
  MariaDB takes differently are rewritten, or refused with MySQL 8's error;
- the greeting no longer offers protocol compression (compressed packets could not be read here);
- for MySQL 8.4 (`sha2`), logins are caching_sha2_password's (localaws/database/sha2_login.py);
- TLS: when the client asks for it (SSLRequest), the front speaks TLS to the client with the
  instance's certificate, and TLS of the same protocol version to the server, so the session's
  Ssl_version and Ssl_cipher status stay true.
The server's version (VERSION() and the greeting) is its own startup option (`--version`).
"""
from __future__ import annotations

import select
import socket
import ssl
import threading
from pathlib import Path

from localaws.database import sha2_login
from localaws.database.mysql8_statements import Refusal, translate
from localaws.relay import serve_each

CLIENT_COMPRESS = 1 << 5
CLIENT_SSL = 1 << 11
COM_QUERY = 0x03
SSL_REQUEST_LENGTH = 32  # capabilities, max packet size, character set, 23 bytes of filler
LARGEST_PAYLOAD = 0xFFFFFF  # a payload this long continues in the next packet
IDLE = 8 * 3600  # seconds a connection may stay silent (MySQL's wait_timeout)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed mid-packet")
        data += chunk
    return data


def read_packet(sock: socket.socket) -> tuple[int, bytes]:
    """(sequence id, payload) of one packet, reading nothing beyond it."""
    header = _read_exactly(sock, 4)
    return header[3], _read_exactly(sock, int.from_bytes(header[:3], "little"))


def packet(sequence: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([sequence & 0xFF]) + payload


def error_packet(sequence: int, refusal: Refusal) -> bytes:
    return packet(sequence, b"\xff" + refusal.code.to_bytes(2, "little") + b"#" + refusal.state.encode()
                  + refusal.message.encode())


def without_compression(greeting: bytes) -> bytes:
    """The server's greeting (protocol 10) with CLIENT_COMPRESS cleared from its capabilities."""
    if greeting[:1] != b"\x0a":
        return greeting  # an error packet (too many connections, host blocked): passed on as it is
    flags = greeting.index(b"\x00", 1) + 1 + 4 + 8 + 1  # version, thread id, scramble part 1, filler
    lower = int.from_bytes(greeting[flags:flags + 2], "little") & ~CLIENT_COMPRESS
    return greeting[:flags] + lower.to_bytes(2, "little") + greeting[flags + 2:]


def translated(payload: bytes) -> bytes | Refusal:
    """A client's command packet as the server is to receive it."""
    if payload[:1] != bytes([COM_QUERY]) or len(payload) >= LARGEST_PAYLOAD:
        return payload
    query = translate(payload[1:])
    if isinstance(query, Refusal):
        return query
    rewritten = bytes([COM_QUERY]) + query
    return rewritten if len(rewritten) < LARGEST_PAYLOAD else payload


class MySQLFront:
    """Listens on 127.0.0.1:`port`, relaying to the server on 127.0.0.1:`backend_port`."""

    host = "127.0.0.1"

    def __init__(self, port: int, backend_port: int, tls: tuple[Path, Path] | None = None, sha2: bool = False):
        self.port = port
        self.sha2 = sha2  # logins by caching_sha2_password, as MySQL 8.4's (localaws/database/sha2_login.py)
        self.backend_port = backend_port
        self._tls: ssl.SSLContext | None = None
        if tls:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(tls[0], tls[1])
        self._listener = socket.create_server((self.host, port), backlog=64)
        self._stopped = threading.Event()
        threading.Thread(target=serve_each, args=(self._listener, self._stopped, self._serve, "mysql-front-conn"),
                         name=f"mysql-front-{port}", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        try:  # wakes the accept() under way: closing alone leaves the port accepting until it returns
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()

    def _serve(self, client: socket.socket) -> None:
        backend: socket.socket | None = None
        try:
            backend = socket.create_connection((self.host, self.backend_port), timeout=30)
            for end in (client, backend):  # no Nagle: a command's small packets must not wait for ACKs
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.settimeout(30)
            sequence, greeting = read_packet(backend)
            sha2 = self.sha2 and greeting[:1] == b"\x0a"
            shown = sha2_login.as_sha2_greeting(greeting) if sha2 else greeting
            client.sendall(packet(sequence, without_compression(shown)))
            sequence, first = read_packet(client)
            secure = (self._tls is not None and len(first) == SSL_REQUEST_LENGTH
                      and bool(int.from_bytes(first[:4], "little") & CLIENT_SSL))
            if secure or not sha2:
                backend.sendall(packet(sequence, first))
            if secure:
                assert self._tls is not None
                client = self._tls.wrap_socket(client, server_side=True)
                backend = _tls_towards_server(client.version()).wrap_socket(backend)
                if sha2:
                    sequence, first = read_packet(client)
            if sha2:
                _sha2_login(client, backend, greeting, sequence, first, secure)
            for end in (client, backend):
                end.setblocking(False)
            _relay(client, backend)
        except (OSError, ConnectionError, ssl.SSLError, ValueError, IndexError):
            pass
        finally:
            for opened in (client, backend):
                if opened is not None:
                    try:
                        opened.close()
                    except OSError:
                        pass


def _sha2_login(client: socket.socket, backend: socket.socket, greeting: bytes, sequence: int, response: bytes,
                secure: bool) -> None:
    """caching_sha2_password towards the client, mysql_native_password towards the server: the server's
    OK or error goes to the client, numbered as the client's exchange goes on."""
    nonce, _ = sha2_login.greeting_fields(greeting)
    password, last = sha2_login.client_password(client, sequence, response, nonce, secure, read_packet, packet)
    backend.sendall(packet(sequence, sha2_login.native_response(response, sha2_login.native_scramble(password, nonce))))
    _, answer = read_packet(backend)
    if answer[:1] not in (b"\x00", b"\xff"):  # the server asked for another plugin: not an RDS MySQL account
        raise sha2_login.LoginRefused("the server asked for another authentication plugin")
    client.sendall(packet(last + 1, answer))


def _tls_towards_server(version: str | None) -> ssl.SSLContext:
    """TLS towards the server, of the version the client negotiated. Unverified: the server is this
    process's own child on loopback; the client verifies the front's certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    chosen = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}.get(version or "")
    if chosen is not None:
        context.minimum_version = context.maximum_version = chosen
    return context


def _send_all(sock: socket.socket, data: bytes) -> None:
    """sendall for a non-blocking socket, TLS or not: waits while the socket cannot take more."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except (ssl.SSLWantWriteError, BlockingIOError):
            _wait(sock, select.POLLOUT)
        except ssl.SSLWantReadError:
            _wait(sock, select.POLLIN)


def _wait(sock: socket.socket, event: int) -> None:
    poller = select.poll()
    poller.register(sock, event)
    if not poller.poll(IDLE * 1000):
        raise TimeoutError("the peer took nothing for too long")


def _relay(client: socket.socket, backend: socket.socket) -> None:
    """Both directions on this one thread (OpenSSL does not allow one TLS connection to be read and
    written from two threads at once); the client's packets are reassembled to be translated.
    Non-blocking: a blocking TLS read that meets only a post-handshake record (a TLS 1.3 session
    ticket) returns b"" as if the peer had closed."""
    unread = bytearray()  # client bytes not yet a whole packet
    ends = {end.fileno(): end for end in (client, backend)}
    poller = select.poll()  # not select(): the local AWS may hold more than 1024 descriptors
    for descriptor in ends:
        poller.register(descriptor, select.POLLIN)
    while True:
        ready: list[socket.socket] = [end for end in (client, backend)
                                      if isinstance(end, ssl.SSLSocket) and end.pending()]
        if not ready:
            ready = [ends[descriptor] for descriptor, _ in poller.poll(IDLE * 1000)]
            if not ready:
                return
        for source in ready:
            try:
                data = source.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                continue
            if not data:
                return
            if source is backend:
                _send_all(client, data)
                continue
            unread += data
            while len(unread) >= 4 and len(unread) >= 4 + int.from_bytes(unread[:3], "little"):
                size = 4 + int.from_bytes(unread[:3], "little")
                sequence, payload = unread[3], bytes(unread[4:size])
                del unread[:size]
                # A command is the first packet of an exchange (sequence 0); later ones (login, file
                # contents, the rest of a long packet) pass as they are.
                command = translated(payload) if sequence == 0 else payload
                if isinstance(command, Refusal):
                    _send_all(client, error_packet(sequence + 1, command))
                else:
                    _send_all(backend, packet(sequence, command))
