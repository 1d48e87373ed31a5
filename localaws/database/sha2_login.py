"""The caching_sha2_password login of MySQL 8.4, given to clients by localaws/database/front.py in front
of a MariaDB server that only knows mysql_native_password.

MySQL 8.4 (reference manual, "Caching SHA-2 Pluggable Authentication"; RDS for MySQL 8.4 and Aurora
MySQL 8.4 default to it): the greeting names caching_sha2_password; a client the server has not
cached is told to "perform full authentication" (0x01 0x04) and then sends its password, in clear
over TLS, else encrypted with the server's RSA public key (asked for with 0x02). The front does
exactly that (it keeps no cache, as a server just started has none), and with the password it logs
into MariaDB with mysql_native_password on the client's behalf: the server still decides whether the
password is right, and its OK or error goes back to the client.
"""
from __future__ import annotations

import functools
import hashlib
import socket
from typing import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

PLUGIN = b"caching_sha2_password"
NATIVE = b"mysql_native_password"
PERFORM_FULL_AUTHENTICATION = b"\x01\x04"
REQUEST_PUBLIC_KEY = b"\x02"
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21
NONCE_LENGTH = 20


class LoginRefused(ConnectionError):
    pass


def greeting_fields(greeting: bytes) -> tuple[bytes, int]:
    """(the 20-byte nonce, where the plugin name starts) of a protocol-10 greeting."""
    version_end = greeting.index(b"\x00", 1)
    part1 = greeting[version_end + 5:version_end + 13]
    # after part 1: filler, flags, character set, status, more flags, auth data length, 10 reserved bytes
    part2_start = version_end + 13 + 1 + 2 + 1 + 2 + 2 + 1 + 10
    part2_end = greeting.index(b"\x00", part2_start)
    return part1 + greeting[part2_start:part2_end][:NONCE_LENGTH - 8], part2_end + 1


def as_sha2_greeting(greeting: bytes) -> bytes:
    """The server's greeting naming caching_sha2_password as MySQL 8.4's does (same nonce)."""
    _, plugin_start = greeting_fields(greeting)
    return greeting[:plugin_start] + PLUGIN + b"\x00"


def native_scramble(password: bytes, nonce: bytes) -> bytes:
    """mysql_native_password's answer: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password)))."""
    if not password:
        return b""
    once = hashlib.sha1(password).digest()
    salted = hashlib.sha1(nonce + hashlib.sha1(once).digest()).digest()
    return bytes(a ^ b for a, b in zip(once, salted))


def _auth_field(response: bytes, capabilities: int, start: int) -> tuple[int, int]:
    """(start, end) of the auth response's bytes in a HandshakeResponse41, its field beginning at `start`."""
    if capabilities & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA:
        if response[start] >= 0xFB:
            raise LoginRefused("an auth response this long is not a password's")
        return start + 1, start + 1 + response[start]
    if capabilities & CLIENT_SECURE_CONNECTION:
        return start + 1, start + 1 + response[start]
    return start, response.index(b"\x00", start)


def parse_response(response: bytes) -> tuple[int, bytes, bytes]:
    """(capabilities, auth response, plugin name) of a HandshakeResponse41."""
    capabilities = int.from_bytes(response[:4], "little")
    user_end = response.index(b"\x00", 32)
    auth_start, auth_end = _auth_field(response, capabilities, user_end + 1)
    after = auth_end + (0 if capabilities & (CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SECURE_CONNECTION) else 1)
    if capabilities & CLIENT_CONNECT_WITH_DB:
        after = response.index(b"\x00", after) + 1
    plugin = b""
    if capabilities & CLIENT_PLUGIN_AUTH:
        plugin = response[after:response.index(b"\x00", after)]
    return capabilities, response[auth_start:auth_end], plugin


def native_response(response: bytes, scramble: bytes) -> bytes:
    """The client's HandshakeResponse41 with `scramble` as its auth response, for mysql_native_password."""
    capabilities = int.from_bytes(response[:4], "little")
    user_end = response.index(b"\x00", 32)
    auth_start, auth_end = _auth_field(response, capabilities, user_end + 1)
    secure = capabilities & (CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SECURE_CONNECTION)
    after = auth_end if secure else auth_end + 1
    head = response[:user_end + 1] + (bytes([len(scramble)]) + scramble if secure else scramble + b"\x00")
    middle = b""
    if capabilities & CLIENT_CONNECT_WITH_DB:
        db_end = response.index(b"\x00", after) + 1
        middle, after = response[after:db_end], db_end
    if capabilities & CLIENT_PLUGIN_AUTH:
        after = response.index(b"\x00", after) + 1
        middle += NATIVE + b"\x00"
    return head + middle + response[after:]


@functools.lru_cache(maxsize=1)
def _rsa_key() -> rsa.RSAPrivateKey:
    """The server's RSA key pair for clients without TLS (made on first need: it costs ~0.1 s)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_key_pem() -> bytes:
    return _rsa_key().public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)


def _decrypt(ciphertext: bytes, nonce: bytes) -> bytes:
    plain = _rsa_key().decrypt(ciphertext, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(),
                                                        label=None))
    password = bytes(byte ^ nonce[i % len(nonce)] for i, byte in enumerate(plain))
    return password.rstrip(b"\x00")


def client_password(client: socket.socket, sequence: int, response: bytes, nonce: bytes, secure: bool,
                    read_packet: Callable[[socket.socket], tuple[int, bytes]],
                    packet: Callable[[int, bytes], bytes]) -> tuple[bytes, int]:
    """The password the client logs in with, and the sequence id of its last packet: full authentication
    as MySQL 8.4 asks for it (switching a client that answered for another plugin first)."""
    _, auth, plugin = parse_response(response)
    if plugin != PLUGIN:  # MySQL: AuthSwitchRequest to the account's plugin
        client.sendall(packet(sequence + 1, b"\xfe" + PLUGIN + b"\x00" + nonce + b"\x00"))
        sequence, auth = read_packet(client)
    if not auth:  # an empty password answers with nothing
        return b"", sequence
    client.sendall(packet(sequence + 1, PERFORM_FULL_AUTHENTICATION))
    sequence, answer = read_packet(client)
    if secure:
        return answer.rstrip(b"\x00"), sequence
    if answer == REQUEST_PUBLIC_KEY:
        client.sendall(packet(sequence + 1, b"\x01" + _public_key_pem()))
        sequence, answer = read_packet(client)
    try:
        return _decrypt(answer, nonce), sequence
    except ValueError:
        raise LoginRefused("the password could not be decrypted") from None
