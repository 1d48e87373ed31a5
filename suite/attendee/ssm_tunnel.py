"""Byte streams to host:port as the bastion sees it, through Session Manager port forwarding.

What `aws ssm start-session --document-name AWS-StartPortForwardingSessionToRemoteHost` and the
session-manager-plugin do, in the suite's own code (the caller needs credentials only, no plugin):
StartSession gives a stream URL and a token; a websocket to it carries the data channel
(localaws/network/session_wire.py): the token (OpenDataChannel), the agent's handshake, then the port
session's bytes, each message acknowledged and resent until acknowledged. The agent multiplexes the
session (smux): each `socket_to` is a new stream of the session for that host:port, and the agent
connects to host:port for it from the bastion, so the bastion's security groups and routes apply.
A session per host:port, kept for the run (one StartSession, not one per connection). What passes
through is never logged: a database password and the secret's value do.
"""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from typing import Any, Callable

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from localaws.network import session_wire as wire

DOCUMENT = "AWS-StartPortForwardingSessionToRemoteHost"
# The plugin version the client announces. The agent multiplexes a LocalPortForwarding session when the
# client's version is at least 1.1.70, and turns smux keep-alives off above 1.2.331.0 (amazon-ssm-agent
# agent/session/plugins/port/port.go muxSupportedClientVersion, muxKeepAliveDisabledAfterThisClientVersion,
# commit 1c217c8): this is a released plugin version past both, which speaks what this module does.
CLIENT_VERSION = "1.2.650.0"
MESSAGE_SCHEMA_VERSION = "1.0"
# Retransmission as the plugin does it (src/config/config.go, streaming.go CalculateRetransmissionTimeout): every
# 100 ms, what is unacknowledged for longer than the timeout is sent again; the timeout starts at 200 ms and follows
# the acknowledgements' round trips (smoothed time + 4 x its variation, at least 10 ms over it, at most 1 s).
RESEND_EVERY, FIRST_TIMEOUT, FIRST_ROUND_TRIP, MAX_TIMEOUT, CLOCK_GRANULARITY = 0.1, 0.2, 0.1, 1.0, 0.01
CHUNK = 1024  # bytes of the session's stream per message, as the plugin and agent send (StreamDataPayloadSize)
FIRST_STREAM_ID = 3  # smux's client opens stream ids 3, 5, 7, ... (session.go: nextStreamID = 1, += 2)


class SessionFailed(ConnectionError):
    """The session could not be started, or its handshake failed: why."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code  # the service's error code, when StartSession refused


class _Stream:
    def __init__(self, session: "_PortSession", stream_id: int):
        self.session = session
        self.stream_id = stream_id
        self.near, self.far = socket.socketpair()
        self.closed_by_us = self.closed_by_agent = False

    def pump_out(self) -> None:
        """What the caller writes goes out as smux frames, until it shuts its side."""
        try:
            while data := self.far.recv(CHUNK - wire.FRAME_HEADER):
                self.session.send_stream_bytes(wire.frame(wire.PSH, self.stream_id, data))
        except OSError:
            pass
        self.closed_by_us = True
        self.session.send_stream_bytes(wire.frame(wire.FIN, self.stream_id), quiet=True)
        self.session.forget(self.stream_id)
        if self.closed_by_agent:
            self.far.close()

    def deliver(self, data: bytes) -> None:
        try:
            self.far.sendall(data)
        except OSError:
            pass

    def remote_closed(self) -> None:
        """The agent closed its connection to host:port: the caller reads the end of the stream."""
        self.closed_by_agent = True
        try:
            self.far.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if self.closed_by_us:
            self.far.close()


class _PortSession:
    """One Session Manager session forwarding to host:port from the target."""

    def __init__(self, ssm: Any, target: str, host: str, port: int, timeout: float):
        self.ssm, self.target, self.host, self.port = ssm, target, host, port
        try:
            started = ssm.start_session(Target=target, DocumentName=DOCUMENT,
                                        Parameters={"host": [host], "portNumber": [str(port)]})
        except Exception as error:  # noqa: BLE001 - botocore's ClientError and friends: said to the caller
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            raise SessionFailed(f"Session Manager would not start a session to {host}:{port} through {target}: "
                                f"{error}", code) from None
        self.session_id: str = started["SessionId"]
        self._lock = threading.Lock()  # sequence numbers, the unacknowledged messages, the websocket's sends
        self._next_sequence = 0
        self._unacknowledged: dict[int, tuple[bytes, float]] = {}  # message, when last sent
        self._round_trip, self._variation, self._resend_after = FIRST_ROUND_TRIP, 0.0, FIRST_TIMEOUT
        self._expected = 0
        self._early: dict[int, wire.Message] = {}
        self._incoming = bytearray()  # the session's stream from the agent, not yet whole frames
        self._streams: dict[int, _Stream] = {}
        self._next_stream = FIRST_STREAM_ID
        self.ready = threading.Event()
        self.closed = threading.Event()
        self.why_closed = ""
        self.agent_version = ""
        try:
            # Pings as the plugin's (54 s, answered within 60 s: its config.go).
            self.ws: ClientConnection = connect(started["StreamUrl"], open_timeout=timeout, compression=None,
                                                legacy=True, max_size=None, ping_interval=54, ping_timeout=60)
            self.ws.send(json.dumps({"MessageSchemaVersion": MESSAGE_SCHEMA_VERSION, "RequestId": str(uuid.uuid4()),
                                     "TokenValue": started["TokenValue"], "ClientId": str(uuid.uuid4()),
                                     "ClientVersion": CLIENT_VERSION}))
        except (OSError, ConnectionClosed) as error:
            self._terminate()
            raise SessionFailed(f"session {self.session_id}: its data channel did not open: {error}") from None
        threading.Thread(target=self._read, name=f"ssm-read-{self.session_id}", daemon=True).start()
        threading.Thread(target=self._resend, name=f"ssm-resend-{self.session_id}", daemon=True).start()
        if not self.ready.wait(timeout) or self.closed.is_set():
            why = self.why_closed or f"no handshake within {timeout:.0f} s"
            self.close()
            raise SessionFailed(f"session {self.session_id} to {host}:{port} through {target}: {why}")

    # --- sending
    def _send_raw(self, data: bytes) -> None:
        try:
            self.ws.send(data)
        except (ConnectionClosed, OSError) as error:
            self._closed(f"the data channel closed: {error}")

    def _send_stream(self, payload_type: int, payload: bytes) -> None:
        with self._lock:
            if self.closed.is_set():
                raise ConnectionError(f"session {self.session_id} is closed: {self.why_closed}")
            message = wire.stream_message(wire.INPUT, self._next_sequence, payload_type, payload).to_bytes()
            self._unacknowledged[self._next_sequence] = (message, time.monotonic())
            self._next_sequence += 1
            self._send_raw(message)

    def send_stream_bytes(self, data: bytes, quiet: bool = False) -> None:
        try:
            for start in range(0, len(data), CHUNK):
                self._send_stream(wire.PAYLOAD_OUTPUT, data[start:start + CHUNK])
        except ConnectionError:
            if not quiet:
                raise

    def _resend(self) -> None:
        """Until acknowledged, each message again after the retransmission timeout (the agent drops what
        comes before it is ready, unacknowledged)."""
        while not self.closed.wait(RESEND_EVERY):
            now = time.monotonic()
            with self._lock:
                for sequence, (message, sent) in sorted(self._unacknowledged.items()):
                    if now - sent >= self._resend_after:
                        self._unacknowledged[sequence] = (message, now)
                        self._send_raw(message)

    def _acknowledged(self, sequence: int) -> None:
        with self._lock:
            sent = self._unacknowledged.pop(sequence, None)
            if sent is None:
                return
            round_trip = time.monotonic() - sent[1]  # since it was last sent, as the plugin measures it
            self._variation = 0.75 * self._variation + 0.25 * abs(self._round_trip - round_trip)
            self._round_trip = 0.875 * self._round_trip + 0.125 * round_trip
            self._resend_after = min(MAX_TIMEOUT, self._round_trip + max(CLOCK_GRANULARITY, 4 * self._variation))

    # --- receiving
    def _read(self) -> None:
        try:
            for data in self.ws:
                if isinstance(data, bytes):
                    self._receive(wire.parse(data))
        except (ConnectionClosed, OSError, ValueError, KeyError) as error:  # ValueError: wire.BadMessage, bad JSON
            self._closed(f"the data channel closed: {error}")
        else:
            self._closed("the data channel closed")

    def _receive(self, message: wire.Message) -> None:
        if message.message_type == wire.ACKNOWLEDGE:
            self._acknowledged(json.loads(message.payload)["AcknowledgedMessageSequenceNumber"])
        elif message.message_type == wire.OUTPUT:
            with self._lock:
                self._send_raw(wire.acknowledgement(message).to_bytes())
            if message.sequence_number >= self._expected:
                self._early[message.sequence_number] = message
            while self._expected in self._early:
                self._handle(self._early.pop(self._expected))
                self._expected += 1
        elif message.message_type == wire.CHANNEL_CLOSED:
            output = json.loads(message.payload or b"{}").get("Output", "")
            self._closed(f"the service closed the session{': ' + output if output else ''}")
        # start_publication / pause_publication: the plugin goes on as before (streaming.go)

    def _handle(self, message: wire.Message) -> None:
        if message.payload_type == wire.HANDSHAKE_REQUEST:
            self._answer_handshake(json.loads(message.payload))
        elif message.payload_type == wire.HANDSHAKE_COMPLETE:
            self.ready.set()
        elif message.payload_type == wire.PAYLOAD_OUTPUT:
            self._incoming.extend(message.payload)
            for command, stream_id, data in wire.frames(self._incoming):
                stream = self._streams.get(stream_id)
                if stream is None:
                    continue
                if command == wire.PSH:
                    stream.deliver(data)
                elif command == wire.FIN:
                    stream.remote_closed()
        # FLAG ConnectToPortError: the agent could not connect; it closes the stream too (FIN), which says so

    def _answer_handshake(self, request: dict[str, Any]) -> None:
        self.agent_version = request.get("AgentVersion", "")
        processed, errors = [], []
        for action in request.get("RequestedClientActions") or []:
            kind = action.get("ActionType")
            if kind == "SessionType" and (action.get("ActionParameters") or {}).get("SessionType") == "Port":
                processed.append({"ActionType": kind, "ActionStatus": 1})
            else:  # KMSEncryption (a session preference): not spoken here; the agent ends the session
                error = f"{kind} is not supported by the suite's Session Manager client"
                processed.append({"ActionType": kind, "ActionStatus": 3, "Error": error})
                errors.append(error)
                self.why_closed = error
        self._send_stream(wire.HANDSHAKE_RESPONSE, json.dumps(
            {"ClientVersion": CLIENT_VERSION, "ProcessedClientActions": processed, "Errors": errors}).encode())

    # --- streams and the end
    def open_stream(self) -> socket.socket:
        with self._lock:
            stream_id, self._next_stream = self._next_stream, self._next_stream + 2
            stream = _Stream(self, stream_id)
            self._streams[stream_id] = stream
        try:
            self.send_stream_bytes(wire.frame(wire.SYN, stream_id))
        except ConnectionError:
            stream.near.close()
            stream.far.close()
            raise
        threading.Thread(target=stream.pump_out, name=f"ssm-stream-{stream_id}", daemon=True).start()
        return stream.near

    def forget(self, stream_id: int) -> None:
        with self._lock:
            self._streams.pop(stream_id, None)

    def _closed(self, why: str) -> None:
        if self.closed.is_set():
            return
        self.why_closed = self.why_closed or why
        self.closed.set()
        for stream in list(self._streams.values()):
            stream.remote_closed()

    def _terminate(self) -> None:
        try:
            self.ssm.terminate_session(SessionId=self.session_id)
        except Exception:  # noqa: BLE001, S110 - ending anyway; the service ends idle sessions itself
            pass

    def close(self) -> None:
        if not self.closed.is_set():
            try:
                self._send_stream(wire.FLAG, wire.flag_payload(wire.TERMINATE_SESSION))
            except ConnectionError:
                pass
            self._closed("closed by the suite")
        self.ws.close()
        self._terminate()


class SessionManagerRoute:
    """The suite's way to the private database, the tasks and the lab app: port forwarding through the
    bastion with Session Manager, as an attendee would (`attach` once the stack is up)."""

    def __init__(self, timeout: float = 60) -> None:
        self.ssm_factory: Callable[[], Any] | None = None
        self.instance_id = ""
        self.timeout = timeout
        self.ready_timeout = 0.0
        self.interval = 1.0
        self._connected_once = False
        self._sessions: dict[tuple[str, int], _PortSession] = {}
        self._lock = threading.Lock()

    def attach(self, ssm_factory: Callable[[], Any], instance_id: str, ready_timeout: float = 0,
               interval: float = 1) -> None:
        """The bastion to forward through; until its first session, StartSession's TargetNotConnected (its
        agent has not registered yet) is waited out for up to `ready_timeout` seconds."""
        self.ssm_factory, self.instance_id = ssm_factory, instance_id
        self.ready_timeout, self.interval = ready_timeout, interval

    def _start(self, host: str, port: int, timeout: float) -> _PortSession:
        assert self.ssm_factory is not None
        deadline = time.monotonic() + (0 if self._connected_once else self.ready_timeout)
        while True:
            try:
                session = _PortSession(self.ssm_factory(), self.instance_id, host, port, timeout)
                self._connected_once = True
                return session
            except SessionFailed as failed:
                if failed.code != "TargetNotConnected" or time.monotonic() > deadline:
                    raise
                time.sleep(self.interval)

    def socket_to(self, host: str, port: int, timeout: float = 30) -> socket.socket:
        """A connected socket to host:port from the bastion (a new stream of the session for host:port)."""
        if self.ssm_factory is None:
            raise RuntimeError("the route is not attached yet: the stack is not deployed")
        with self._lock:
            session = self._sessions.get((host, port))
            if session is not None and session.closed.is_set():
                session.close()
                session = None
            if session is None:
                session = self._start(host, port, max(timeout, self.timeout))
                self._sessions[(host, port)] = session
        return session.open_stream()

    stream_to = socket_to  # a real socket already: what a TLS client can wrap

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()
