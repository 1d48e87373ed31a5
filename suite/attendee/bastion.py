"""SSH to an instance with a key of one's own, the host key checked, never blindly accepted.

The suite reaches the workshop's bastion through Session Manager only (suite/attendee/ssm_tunnel.py);
what is here serves the fidelity tests of the local AWS's hosts (an instance launched with a
per-run key pair, its SSH host keys read from its console output, where cloud-init prints them)
and the host-key parsing the tasks' SSH uses (`host_keys_in`, `checked_ssh_client`).
"""
from __future__ import annotations

import base64
import io
import socket
import threading
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

if TYPE_CHECKING:  # imported where an SSH connection is made: a run that makes none does without (0.1 s CPU)
    import paramiko

HOST_KEYS_BEGIN = "-----BEGIN SSH HOST KEY KEYS-----"
HOST_KEYS_END = "-----END SSH HOST KEY KEYS-----"


def new_key_pair() -> tuple[paramiko.PKey, str]:
    """A fresh ed25519 key: (paramiko private key, OpenSSH public key line)."""
    import paramiko

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                              serialization.PublicFormat.OpenSSH).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem)), public + " smdemo-suite"


class HostKeysNotPublished(Exception):
    pass


def host_keys_in(text: str) -> list[str] | None:
    """"type base64" of each key in a printed host-key block (cloud-init's format, which the
    workshop's container prints too); None until the whole block is there."""
    if HOST_KEYS_BEGIN not in text or HOST_KEYS_END not in text.split(HOST_KEYS_BEGIN, 1)[1]:
        return None
    block = text.split(HOST_KEYS_BEGIN, 1)[1].split(HOST_KEYS_END, 1)[0]
    return [" ".join(line.split()[:2]) for line in block.splitlines() if line.strip().startswith(("ssh-", "ecdsa-"))]


def checked_ssh_client(address: str, host_keys: list[str]) -> paramiko.SSHClient:
    """An SSH client that accepts only these host keys for `address` (RejectPolicy otherwise)."""
    import paramiko

    client = paramiko.SSHClient()
    for line in host_keys:
        key_type, key_data = line.split()[:2]
        client.get_host_keys().add(address, key_type,
                                   paramiko.PKey.from_type_string(key_type, base64.b64decode(key_data)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    return client


def published_host_keys(ec2: Any, instance_id: str, timeout: float = 600, interval: float | None = None) -> list[str]:
    """The bastion's SSH host keys from its console output (cloud-init prints them at boot), read every
    `interval` seconds (default: a twentieth of the timeout, within 0.2 to 15 s)."""

    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(interval or min(15, max(timeout / 20, 0.2))),
           retry=retry_if_exception_type(HostKeysNotPublished), reraise=True)
    def read() -> list[str]:
        keys = host_keys_in(ec2.get_console_output(InstanceId=instance_id, Latest=True).get("Output", ""))
        if keys is None:
            raise HostKeysNotPublished(f"bastion {instance_id} has not printed its SSH host keys yet")
        return keys

    return read()


class Bastion:
    """SSH to the bastion, and channels through it; `attach` once the stack is up."""

    def __init__(self) -> None:
        self.key, self.public_key = new_key_pair()
        self.client: paramiko.SSHClient | None = None

    def attach(self, address: str, host_keys: list[str], user: str = "ec2-user") -> None:
        client = checked_ssh_client(address, host_keys)
        client.connect(address, username=user, pkey=self.key, timeout=30, allow_agent=False, look_for_keys=False)
        self.client = client

    def socket_to(self, host: str, port: int, timeout: float = 30) -> paramiko.Channel:
        import paramiko

        if self.client is None:
            raise RuntimeError("the bastion is not attached yet: the stack is not deployed")
        transport = self.client.get_transport()
        try:
            return transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=timeout)
        except paramiko.SSHException as error:
            if "Timeout" not in str(error):
                raise
            # A packet dropped on the way: AWS answers nothing (no "connection refused").
            raise ConnectionError(
                f"the bastion's connection to {host}:{port} went unanswered for {timeout:.0f} s: a security group "
                f"(the target's inbound rules, the bastion's outbound ones) or a route drops it") from None

    def stream_to(self, host: str, port: int) -> socket.socket:
        """A real socket through the tunnel: what a TLS client can wrap (a paramiko channel is not
        one), as `ssh -L` gives a local port."""
        channel = self.socket_to(host, port)
        near, far = socket.socketpair()

        def pump(source, target) -> None:
            try:
                while data := source.recv(65536):
                    target.sendall(data)
            except OSError:
                pass
            finally:
                for end in (far, channel):
                    try:
                        end.close()
                    except OSError:
                        pass

        threading.Thread(target=pump, args=(channel, far), name="tunnel-in", daemon=True).start()
        threading.Thread(target=pump, args=(far, channel), name="tunnel-out", daemon=True).start()
        return near

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
