"""The data channel of a Session Manager port session: the service's websocket and the agent's side.

AWS (Session Manager user guide, "Port forwarding", "Start a session"; the agent's source,
github.com/aws/amazon-ssm-agent agent/session/datachannel/datachannel.go and
agent/session/plugins/port/port.go, port_mux.go, commit 1c217c8; the client's,
github.com/aws/session-manager-plugin src/message/, src/datachannel/streaming.go): StartSession
answers a stream URL and a token; the client opens a websocket to the URL and sends the token as
its first (text) frame (OpenDataChannel). Then binary "client messages" flow both ways (header
layout below), each stream message acknowledged by the receiver. The agent opens with a
HandshakeRequest (its version, the session type "Port" and the document's properties), the
client answers a HandshakeResponse (its version), the agent says HandshakeComplete. For a
LocalPortForwarding session and a client of version 1.1.70 or later, the session's bytes are
smux (protocol version 1) frames: each stream the client opens (SYN) makes the agent connect to
host:port from the instance (a failure: a Flag payload ConnectToPortError and the stream closed),
bytes flow as PSH frames, FIN closes a stream; the agent's output is the smux byte stream cut in
payloads of at most 1,024 bytes. A Flag payload TerminateSession from the client, or
TerminateSession, ends the session: the service sends channel_closed and closes the websocket.

Here the websocket server runs in the local AWS's process; the agent's connections are made from
inside the instance's network namespace (localaws/network/host_wiring.py), so its security
groups, routes and the databases' rules apply as they do to its own programs. Not modelled:
clients older than 1.1.70 (the agent's non-multiplexed mode; the session is closed saying so),
KMS encryption of sessions, the agent's resending of unacknowledged output (the local websocket
loses nothing), idle-session timeouts. Payloads are never logged: secrets pass through.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from localaws.network import session_wire as wire
from localaws.network.session_wire import (CONNECT_TO_PORT_ERROR, FIN, FLAG, HANDSHAKE_COMPLETE, HANDSHAKE_REQUEST,
                                           HANDSHAKE_RESPONSE, PAYLOAD_OUTPUT, PSH, SYN, TERMINATE_SESSION, Message)

log = logging.getLogger("localaws.ssm_sessions")
AGENT_VERSION = "3.3.1142.0"
MUX_FROM_CLIENT_VERSION = (1, 1, 70)
CHUNK = 1024  # the agent's StreamDataPayloadSize
CONNECT_TIMEOUT = 20.0  # seconds the agent's connection to host:port may take here
OPEN_TIMEOUT = 30.0  # seconds the service waits for OpenDataChannel

Connector = Callable[[str, int, float], socket.socket]


def _message(message_type: str, sequence: int, flags: int, payload_type: int, payload: bytes) -> bytes:
    return Message(message_type, sequence, flags, uuid.uuid4(), payload_type, payload).to_bytes()


def _version(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return ()


@dataclass
class PortSession:
    session_id: str
    token: str
    target: str
    properties: dict[str, str]  # the document's, with the parameters in: host, portNumber, type, localPortNumber
    connect: Connector  # a TCP connection from the target's network
    terminated: threading.Event = field(default_factory=threading.Event)
    channel: "_AgentSide | None" = None

    def terminate(self) -> None:
        self.terminated.set()
        if self.channel is not None:
            self.channel.end("")


class _AgentSide:
    def __init__(self, connection: ServerConnection, session: PortSession):
        self.connection, self.session = connection, session
        self.lock = threading.Lock()
        self.sequence = 0
        self.expected = 0
        self.early: dict[int, tuple[int, bytes]] = {}
        self.incoming = bytearray()
        self.streams: dict[int, _TargetConnection] = {}
        self.handshake_done = False
        self.ended = False

    def send_stream(self, payload_type: int, payload: bytes) -> None:
        with self.lock:
            if self.ended:
                return
            message = _message(wire.OUTPUT, self.sequence, 0, payload_type, payload)
            self.sequence += 1
            self._send(message)

    def send_mux(self, data: bytes) -> None:
        with self.lock:  # one stream's frame stays whole among the others'
            for start in range(0, len(data), CHUNK):
                if self.ended:
                    return
                self._send(_message(wire.OUTPUT, self.sequence, 0, PAYLOAD_OUTPUT, data[start:start + CHUNK]))
                self.sequence += 1

    def _send(self, data: bytes) -> None:
        try:
            self.connection.send(data)
        except (ConnectionClosed, OSError):
            self.ended = True

    def run(self) -> None:
        properties = self.session.properties
        self.send_stream(HANDSHAKE_REQUEST, json.dumps({"AgentVersion": AGENT_VERSION, "RequestedClientActions": [
            {"ActionType": "SessionType", "ActionParameters": {"SessionType": "Port", "Properties": properties}}]
        }).encode())
        started = time.monotonic()
        try:
            for data in self.connection:
                if self.session.terminated.is_set():
                    break
                if isinstance(data, str):
                    continue
                message = wire.parse(data)
                if message.message_type != wire.INPUT:
                    continue  # acknowledgements: nothing is resent here
                with self.lock:
                    self._send(wire.acknowledgement(message).to_bytes())
                if message.sequence_number >= self.expected:
                    self.early[message.sequence_number] = (message.payload_type, message.payload)
                while self.expected in self.early:
                    self._handle(*self.early.pop(self.expected), started)
                    self.expected += 1
        except (ConnectionClosed, OSError, ValueError):
            pass
        self.end("")

    def _handle(self, payload_type: int, payload: bytes, started: float) -> None:
        if payload_type == HANDSHAKE_RESPONSE and not self.handshake_done:
            response = json.loads(payload)
            failed = [action for action in response.get("ProcessedClientActions") or []
                      if action.get("ActionStatus") != 1]
            if failed:
                self.end(f"the client failed the handshake: {failed}")
                return
            if _version(response.get("ClientVersion", "")) < MUX_FROM_CLIENT_VERSION:
                log.warning("not modelled offline: a port session with a client older than 1.1.70 (%s)",
                            response.get("ClientVersion"))
                self.end("not modelled by the local AWS: a port session without multiplexing (client before 1.1.70)")
                return
            self.send_stream(HANDSHAKE_COMPLETE, json.dumps({
                "HandshakeTimeToComplete": int((time.monotonic() - started) * 1e9), "CustomerMessage": ""}).encode())
            self.handshake_done = True
        elif not self.handshake_done:
            return  # the agent ignores stream data until the handshake is complete
        elif payload_type == PAYLOAD_OUTPUT:
            self.incoming.extend(payload)
            for command, stream_id, data in wire.frames(self.incoming):
                self._frame(command, stream_id, data)
        elif payload_type == FLAG and payload[:4] == wire.flag_payload(TERMINATE_SESSION):
            self.session.terminated.set()
            self.end("")

    def _frame(self, command: int, stream_id: int, data: bytes) -> None:
        if command == SYN and stream_id not in self.streams:
            stream = _TargetConnection(self, stream_id)
            self.streams[stream_id] = stream
            threading.Thread(target=stream.open, name=f"ssm-session-{stream_id}", daemon=True).start()
        elif command == PSH and stream_id in self.streams:
            self.streams[stream_id].write(data)
        elif command == FIN and stream_id in self.streams:
            self.streams.pop(stream_id).close()

    def end(self, output: str) -> None:
        with self.lock:
            if self.ended:
                return
            session = self.session
            self._send(_message(wire.CHANNEL_CLOSED, 0, 0, 0, json.dumps({
                "MessageId": str(uuid.uuid4()), "CreatedDate": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "DestinationId": session.target, "SessionId": session.session_id, "MessageType": "channel_closed",
                "SchemaVersion": 1, "Output": output}).encode()))
            self.ended = True
        for stream in list(self.streams.values()):
            stream.close()
        self.connection.close()


class _TargetConnection:
    """One smux stream: the agent's TCP connection to host:port."""

    def __init__(self, agent: _AgentSide, stream_id: int):
        self.agent, self.stream_id = agent, stream_id
        self.pending = bytearray()
        self.sock: socket.socket | None = None
        self.closed = False
        self.lock = threading.Lock()

    def open(self) -> None:
        properties = self.agent.session.properties
        host, port = properties.get("host") or "localhost", int(properties["portNumber"])
        try:
            sock = self.agent.session.connect(host, port, CONNECT_TIMEOUT)
        except OSError:
            self.agent.send_stream(FLAG, wire.flag_payload(CONNECT_TO_PORT_ERROR))
            self.agent.send_mux(wire.frame(FIN, self.stream_id))
            return
        with self.lock:
            if self.closed:
                sock.close()
                return
            self.sock = sock
            if self.pending:
                sock.sendall(self.pending)
        try:
            while data := sock.recv(32768):
                self.agent.send_mux(wire.frame(PSH, self.stream_id, data))
        except OSError:
            pass
        self.agent.send_mux(wire.frame(FIN, self.stream_id))
        self.close()

    def write(self, data: bytes) -> None:
        with self.lock:
            if self.sock is None:
                self.pending.extend(data)
                return
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        with self.lock:
            self.closed = True
            sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class DataChannels:
    """The service's websocket endpoint for the sessions StartSession made."""

    def __init__(self) -> None:
        self.sessions: dict[str, PortSession] = {}
        self.lock = threading.Lock()
        self.server: Server | None = None
        self.url = ""

    def stream_url(self, session_id: str, region: str) -> str:
        with self.lock:
            if self.server is None:
                self.server = serve(self._serve, "127.0.0.1", 0, compression=None, max_size=None)
                self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"
                threading.Thread(target=self.server.serve_forever, name="ssm-data-channels", daemon=True).start()
        return f"{self.url}/v1/data-channel/{session_id}?role=publish_subscribe&cell-number={region}"

    def add(self, session: PortSession) -> None:
        with self.lock:
            self.sessions[session.session_id] = session

    def get(self, session_id: str) -> PortSession | None:
        with self.lock:
            return self.sessions.get(session_id)

    def _serve(self, connection: ServerConnection) -> None:
        path = (connection.request.path if connection.request else "").split("?", 1)[0]
        session = self.get(path.rsplit("/", 1)[-1])
        try:
            opening = json.loads(connection.recv(timeout=OPEN_TIMEOUT))
        except (TimeoutError, ConnectionClosed, ValueError):
            connection.close()
            return
        if (session is None or session.terminated.is_set() or session.channel is not None
                or opening.get("TokenValue") != session.token):
            connection.close(1008, "the token does not open this session")
            return
        session.channel = _AgentSide(connection, session)
        session.channel.run()

    def close(self) -> None:
        with self.lock:
            sessions, self.sessions = list(self.sessions.values()), {}
            server, self.server = self.server, None
        for session in sessions:
            session.terminate()
        if server is not None:
            server.shutdown()
