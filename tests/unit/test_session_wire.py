"""localaws/network/session_wire.py: the data channel's messages and smux frames, byte for byte as the
session-manager-plugin lays them out and checks them (src/message/messageparser.go, clientmessage.go Validate,
which the agent shares); the client (suite/attendee/ssm_tunnel.py) and the local AWS's agent side
(localaws/hosts/session_channel.py) both speak it through this one module."""
from __future__ import annotations

import hashlib
import json
import struct
import uuid

import pytest

from localaws.hosts import session_channel as agent
from localaws.network import session_wire as wire


def test_a_message_is_laid_out_as_the_plugin_serializes_it():
    message_id = uuid.UUID(bytes=bytes(range(16)))
    data = wire.Message("input_stream_data", 7, 0, message_id, wire.PAYLOAD_OUTPUT, b"hello",
                        created_ms=1234).to_bytes()
    assert struct.unpack(">I", data[:4]) == (116,)  # HeaderLength: the offset of PayloadLength
    assert data[4:36] == b"input_stream_data".ljust(32, b" ")
    assert struct.unpack(">IQqQ", data[36:64]) == (1, 1234, 7, 0)
    assert data[64:80] == bytes(range(8, 16)) + bytes(range(8))  # the UUID's low half first (putUuid)
    assert data[80:112] == hashlib.sha256(b"hello").digest()
    assert struct.unpack(">II", data[112:120]) == (1, 5) and data[120:] == b"hello"
    assert wire.parse(data) == wire.Message("input_stream_data", 7, 0, message_id, 1, b"hello", 1, 1234)


def test_a_payload_that_does_not_match_its_digest_is_refused():
    data = bytearray(wire.stream_message(wire.OUTPUT, 0, wire.PAYLOAD_OUTPUT, b"abc").to_bytes())
    data[-1] ^= 1
    with pytest.raises(wire.BadMessage):
        wire.parse(bytes(data))


def test_an_acknowledgement_names_the_message_it_acknowledges():
    received = wire.stream_message(wire.OUTPUT, 3, wire.PAYLOAD_OUTPUT, b"x")
    ack = wire.parse(wire.acknowledgement(received).to_bytes())
    assert (ack.message_type, ack.sequence_number, ack.flags, ack.payload_type) == (wire.ACKNOWLEDGE, 0, 3, 0)
    assert json.loads(ack.payload) == {"AcknowledgedMessageType": "output_stream_data",
                                       "AcknowledgedMessageId": str(received.message_id),
                                       "AcknowledgedMessageSequenceNumber": 3, "IsSequentialMessage": True}


def test_a_message_without_a_creation_date_is_refused_and_an_empty_payload_needs_no_digest():
    empty = bytearray(wire.stream_message(wire.INPUT, 1, wire.PAYLOAD_OUTPUT, b"").to_bytes())
    empty[80:112] = bytes(32)  # PayloadDigest: Validate checks it only when PayloadLength is not 0
    assert wire.parse(bytes(empty)).payload == b""
    undated = bytearray(wire.stream_message(wire.INPUT, 1, wire.PAYLOAD_OUTPUT, b"x").to_bytes())
    undated[40:48] = bytes(8)  # CreatedDate
    with pytest.raises(wire.BadMessage):
        wire.parse(bytes(undated))


def test_the_local_agent_writes_what_the_client_reads():
    answered = wire.parse(agent._message(wire.OUTPUT, 4, 0, wire.HANDSHAKE_COMPLETE, b"{}"))
    assert (answered.message_type, answered.sequence_number, answered.payload_type) == (wire.OUTPUT, 4, 7)


def test_smux_frames_are_whole_only_once_all_their_bytes_came():
    stream = bytearray(wire.frame(wire.SYN, 3) + wire.frame(wire.PSH, 3, b"payload") + wire.frame(wire.FIN, 3))
    assert stream[:8] == bytes([1, 0, 0, 0, 3, 0, 0, 0])  # version 1, SYN, length 0, stream 3 (little-endian)
    buffer = bytearray()
    found = []
    for start in range(0, len(stream), 5):  # cut anywhere, as the agent's 1,024-byte payloads cut it
        buffer.extend(stream[start:start + 5])
        found += wire.frames(buffer)
    assert found == [(wire.SYN, 3, b""), (wire.PSH, 3, b"payload"), (wire.FIN, 3, b"")] and not buffer
