"""The Session Manager data channel's wire format, both sides': the client's (suite/attendee/ssm_tunnel.py) and
the agent's (localaws/hosts/session_channel.py).

From AWS's session-manager-plugin (github.com/aws/session-manager-plugin, src/message/clientmessage.go
and messageparser.go, commit 61cf128): every message on the websocket after the OpenDataChannel text
frame is a binary "client message", big-endian:
  HeaderLength u32 (116: the offset of PayloadLength) | MessageType 32 bytes (space-padded) |
  SchemaVersion u32 | CreatedDate u64 (epoch ms) | SequenceNumber i64 | Flags u64 |
  MessageId 16 bytes (the UUID's low 8 bytes, then its high 8) | PayloadDigest 32 bytes (SHA-256) |
  PayloadType u32 | PayloadLength u32 | Payload
An "acknowledge" message carries JSON naming the message it acknowledges (sequence 0, flags 3).
And the port session's multiplexing (xtaci/smux protocol version 1, which the agent and the plugin use
for LocalPortForwarding): frames of ver u8 | cmd u8 | length u16 LE | stream id u32 LE | data.
"""
from __future__ import annotations

import hashlib
import json
import struct
import time
import uuid
from dataclasses import dataclass

INPUT = "input_stream_data"
OUTPUT = "output_stream_data"
ACKNOWLEDGE = "acknowledge"
CHANNEL_CLOSED = "channel_closed"
START_PUBLICATION = "start_publication"
PAUSE_PUBLICATION = "pause_publication"

# Payload types (clientmessage.go).
PAYLOAD_OUTPUT, HANDSHAKE_REQUEST, HANDSHAKE_RESPONSE, HANDSHAKE_COMPLETE, FLAG = 1, 5, 6, 7, 10
# Flags carried by a FLAG payload (a big-endian u32).
DISCONNECT_TO_PORT, TERMINATE_SESSION, CONNECT_TO_PORT_ERROR = 1, 2, 3

_HEADER = struct.Struct(">I32sIQqQ16s32sII")
HEADER_LENGTH = _HEADER.size - 4  # the HeaderLength field counts up to PayloadLength, not past it


@dataclass(frozen=True)
class Message:
    message_type: str
    sequence_number: int
    flags: int
    message_id: uuid.UUID
    payload_type: int
    payload: bytes
    schema_version: int = 1
    created_ms: int = 0

    def to_bytes(self) -> bytes:
        wire_id = self.message_id.bytes[8:] + self.message_id.bytes[:8]
        header = _HEADER.pack(HEADER_LENGTH, self.message_type.encode().ljust(32, b" "), self.schema_version,
                              self.created_ms or int(time.time() * 1000), self.sequence_number, self.flags,
                              wire_id, hashlib.sha256(self.payload).digest(), self.payload_type, len(self.payload))
        return header + self.payload


class BadMessage(ValueError):
    pass


def parse(data: bytes) -> Message:
    """A received client message, checked as the plugin and the agent check it (their shared Validate: a header
    length, a type and a creation date; the payload's digest when it has one)."""
    if len(data) < _HEADER.size:
        raise BadMessage(f"a message of {len(data)} bytes is shorter than the header")
    (header_length, message_type, schema, created, sequence, flags, wire_id, digest, payload_type,
     length) = _HEADER.unpack_from(data)
    payload = data[header_length + 4:]
    name = message_type.strip(b"\x00").decode(errors="replace").strip()
    if name not in (START_PUBLICATION, PAUSE_PUBLICATION):
        if header_length == 0 or not name or created == 0:
            raise BadMessage("a message without a header length, a type or a creation date")
        if length and hashlib.sha256(payload).digest() != digest:
            raise BadMessage(f"the payload of a {name} message does not match its digest")
    return Message(name, sequence, flags, uuid.UUID(bytes=wire_id[8:] + wire_id[:8]), payload_type, payload,
                   schema, created)


def stream_message(message_type: str, sequence: int, payload_type: int, payload: bytes) -> Message:
    return Message(message_type, sequence, 0, uuid.uuid4(), payload_type, payload)


def acknowledgement(of: Message) -> Message:
    """The acknowledge message for a received stream message (SerializeClientMessageWithAcknowledgeContent)."""
    content = {"AcknowledgedMessageType": of.message_type, "AcknowledgedMessageId": str(of.message_id),
               "AcknowledgedMessageSequenceNumber": of.sequence_number, "IsSequentialMessage": True}
    return Message(ACKNOWLEDGE, 0, 3, uuid.uuid4(), 0, json.dumps(content).encode())


def flag_payload(flag: int) -> bytes:
    return struct.pack(">I", flag)


# --- smux protocol version 1
SMUX_VERSION = 1
SYN, FIN, PSH, NOP = 0, 1, 2, 3
_FRAME = struct.Struct("<BBHI")
FRAME_HEADER = _FRAME.size


def frame(command: int, stream_id: int, data: bytes = b"") -> bytes:
    return _FRAME.pack(SMUX_VERSION, command, len(data), stream_id) + data


def frames(buffer: bytearray) -> list[tuple[int, int, bytes]]:
    """The whole frames at the start of `buffer` (taken out of it): (command, stream id, data)."""
    found = []
    while len(buffer) >= FRAME_HEADER:
        version, command, length, stream_id = _FRAME.unpack_from(buffer)
        if version != SMUX_VERSION:
            raise BadMessage(f"a multiplexing frame of version {version}, not {SMUX_VERSION}")
        if len(buffer) < FRAME_HEADER + length:
            break
        found.append((command, stream_id, bytes(buffer[FRAME_HEADER:FRAME_HEADER + length])))
        del buffer[:FRAME_HEADER + length]
    return found
