"""AWS's HTTPS endpoints, as code running inside the local AWS sees them.

AWS: an SDK, or a function given `SECRETS_MANAGER_ENDPOINT=https://secretsmanager.<region>.amazonaws.com`,
resolves the service's name (in a VPC, to the interface endpoint's addresses when its private DNS
is on) and speaks HTTPS to it with a certificate a default trust store accepts.
Here one TLS listener on port 443 of a loopback address of its own stands for every such name
(certificate from localaws/certificates.py, for `*.<region>.amazonaws.com` and `*.amazonaws.com`)
and hands each connection, decrypted, to the local AWS's own HTTP endpoint; the Host header names
the service, as it does in AWS. The client's connection is kept alive between requests, as AWS's
endpoints do (localaws/network/kept_alive.py). Sandboxed code reaches it through its /etc/hosts
(localaws/functions/network.py).
"""
from __future__ import annotations

import os
import select
import socket
import ssl
import threading

from localaws import certificates
from localaws.network import kept_alive
from localaws.network.addresses import allocate
from localaws.relay import serve_each

# The services a function of this world calls, by their endpoint prefix (global ones: iam, sts).
SERVICES = ("secretsmanager", "sts", "logs", "lambda", "rds", "ec2", "s3", "kms", "ssm", "cloudtrail", "ecr", "ecs",
            "iam", "monitoring", "events", "sqs", "sns", "dynamodb", "elasticloadbalancing", "tagging")
GLOBAL = ("iam", "sts")
IDLE = 120  # seconds a connection may stay silent


class Endpoints:
    def __init__(self, region: str, backend_port: int):
        self.region = region
        self.backend_port = backend_port
        self.address = allocate(port=443)
        # S3's virtual-hosted names (BUCKET.s3.amazonaws.com) and ECR's API name (api.ecr.REGION...) are one
        # label deeper than a wildcard reaches.
        issued = certificates.issue("endpoints", [f"*.{region}.amazonaws.com", "*.amazonaws.com", "*.s3.amazonaws.com",
                                                  f"*.s3.{region}.amazonaws.com", f"*.ecr.{region}.amazonaws.com"],
                                     [self.address])
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(issued.certificate, issued.key)
        self._listener = socket.create_server((self.address, 443), backlog=64)
        self._stopped = threading.Event()
        threading.Thread(target=serve_each, args=(self._listener, self._stopped, self._serve, "endpoints-conn"),
                         name="endpoints-443", daemon=True).start()

    def names(self) -> list[str]:
        return [f"{service}.{self.region}.amazonaws.com" for service in SERVICES] + [
            f"{service}.amazonaws.com" for service in GLOBAL] + [
            f"api.ecr.{self.region}.amazonaws.com"]  # the name the AWS CLI and SDKs use for ECR's API

    def bucket_names(self, buckets: list[str]) -> list[str]:
        """The virtual-hosted names of these S3 buckets (how the AWS CLI addresses them): an /etc/hosts
        has no wildcards, so each bucket's names are listed."""
        return [name for bucket in buckets for name in (f"{bucket}.s3.amazonaws.com",
                                                        f"{bucket}.s3.{self.region}.amazonaws.com")]

    def _serve(self, client: socket.socket) -> None:
        try:
            secured = self._context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            client.close()
            return
        secured.settimeout(IDLE)
        secured.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle: small writes must not wait for ACKs
        try:
            kept_alive.serve(secured, self._backend, lambda _, backend: _relay_tls(secured, backend))
        except (OSError, ssl.SSLError):
            pass
        finally:
            secured.close()

    def _backend(self) -> socket.socket:
        """A connection to the local AWS's own HTTP endpoint, for one request (it closes after each answer)."""
        backend = socket.create_connection(("127.0.0.1", self.backend_port), timeout=30)
        backend.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        backend.settimeout(None)
        return backend

    def stop(self) -> None:
        self._stopped.set()
        self._listener.close()


def _relay_tls(secured: ssl.SSLSocket, backend: socket.socket) -> None:
    """Both directions on this one thread: OpenSSL does not allow one TLS connection to be read and
    written from two threads at once (it corrupted the process's memory)."""
    try:
        while True:
            ready = [secured] if secured.pending() else select.select([secured, backend], [], [], IDLE)[0]
            if not ready:
                return  # idle: the client went away without a word
            for source in ready:
                try:
                    data = source.recv(65536)
                except ssl.SSLWantReadError:
                    continue
                if not data:
                    return
                (backend if source is secured else secured).sendall(data)
    except (OSError, ssl.SSLError):
        pass
    finally:
        for sock in (secured, backend):
            try:
                sock.close()
            except OSError:
                pass


_ENDPOINTS: dict[str, Endpoints] = {}
_LOCK = threading.Lock()


def for_region(region: str) -> Endpoints:
    with _LOCK:
        if region not in _ENDPOINTS:
            port = int(os.environ["LOCALAWS_ENDPOINT"].rsplit(":", 1)[1])
            _ENDPOINTS[region] = Endpoints(region, port)
        return _ENDPOINTS[region]


def stop_all() -> None:
    with _LOCK:
        endpoints = list(_ENDPOINTS.values())
        _ENDPOINTS.clear()
    for endpoint in endpoints:
        endpoint.stop()
