"""The instance metadata service (IMDSv2) of one EC2 instance: who it is, where, and its role's keys.

AWS (EC2 user guide, "Use IMDSv2", "Retrieve security credentials from instance metadata"): inside an
instance, http://169.254.169.254/ answers `PUT /latest/api/token` (header
X-aws-ec2-metadata-token-ttl-seconds, 1 to 21600; 400 without it) with a session token; with
HttpTokens required, a GET without a valid token is 401. `/latest/meta-data/instance-id`,
`placement/availability-zone` and `placement/region` say where it runs (the AWS CLI takes its region
from the zone), `iam/security-credentials/` names the instance profile's role (404 without one) and
`iam/security-credentials/<role>` holds that role's temporary keys (Code, AccessKeyId,
SecretAccessKey, Token, Expiration), renewed before they expire. SDKs and the CLI on the instance
find their credentials there. EC2 assumes the role as ec2.amazonaws.com: when the role's trust policy
does not admit it (localaws/service_roles.py), the role's page holds no keys but
{"Code": "AssumeRoleUnauthorizedAccess", "Message": "EC2 cannot assume the role <name>. ..."}
("Troubleshoot IAM roles for Amazon EC2"), and the instance's SDKs find no credentials.
Here one small HTTP server per instance, on this machine; the instance's namespace gets
169.254.169.254:80 forwarded to it (localaws/ext/ec2_hosts.py). The keys are an STS AssumeRole
session of the role (localaws/access_keys.py), so IAM evaluates the role's policies.
"""
from __future__ import annotations

import datetime
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from localaws.access_keys import AccessKey, assume_service_role
from localaws.service_roles import EC2, RoleNotAssumable

ADDRESS = "169.254.169.254"
TOKEN_TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
SESSION_SECONDS = 3600
RENEW_BEFORE = 300  # seconds: AWS makes new keys available well before the old ones expire
# How often the server looks whether close() asked it to stop: an instance's termination waits up to this long
# (socketserver's default, half a second, was most of a run's teardown).
SHUTDOWN_POLL = 0.05


class InstanceMetadata:
    def __init__(self, instance: Any, role_arn: Callable[[], str | None]):
        """`role_arn()` is the instance profile's role now (None: no profile), read at each request."""
        self.instance = instance
        self.role_arn = role_arn
        self._tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self._keys: tuple[str, AccessKey, datetime.datetime] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(SHUTDOWN_POLL,), name=f"imds-{instance.id}",
                         daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        return self._server.server_address[:2]  # type: ignore[return-value]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _token(self, ttl: str | None) -> tuple[int, str]:
        if ttl is None or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return 400, ""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + int(ttl)
        return 200, token

    def _valid(self, token: str | None) -> bool:
        with self._lock:
            return token is not None and self._tokens.get(token, 0) > time.monotonic()

    def _credentials(self, role_arn: str) -> dict[str, str]:
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        with self._lock:
            now = datetime.datetime.now(datetime.timezone.utc)
            if self._keys is None or self._keys[0] != role_arn or \
                    (self._keys[2] - now).total_seconds() < RENEW_BEFORE:
                backend = self.instance.ec2_backend
                try:
                    key = assume_service_role(backend.account_id, backend.region_name, role_arn, self.instance.id,
                                              EC2, {"aws:SourceAccount": backend.account_id},
                                              duration=SESSION_SECONDS)
                except RoleNotAssumable:
                    self._keys = None
                    return {"Code": "AssumeRoleUnauthorizedAccess", "Message": (
                        f"EC2 cannot assume the role {role_arn.rsplit('/', 1)[-1]}.  Please see documentation at "
                        "http://docs.amazonwebservices.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html"
                        "#troubleshooting-iam-roles."), "LastUpdated": now.strftime(stamp)}
                self._keys = (role_arn, key, now + datetime.timedelta(seconds=SESSION_SECONDS))
            _, key, expires = self._keys
        return {"Code": "Success", "LastUpdated": now.strftime(stamp), "Type": "AWS-HMAC",
                "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key,
                "Token": key.session_token or "", "Expiration": expires.strftime(stamp)}

    def answer(self, path: str) -> tuple[int, str]:
        """(HTTP status, body) of a GET of `path` (token already checked)."""
        instance = self.instance
        zone = instance.placement.zone
        role_arn = self.role_arn()
        role_name = role_arn.rsplit("/", 1)[-1] if role_arn else None
        pages: dict[str, str] = {
            "/latest/meta-data/instance-id": instance.id,
            "/latest/meta-data/placement/availability-zone": zone,
            "/latest/meta-data/placement/region": instance.ec2_backend.region_name,
            "/latest/meta-data/local-ipv4": instance.private_ip,
            "/latest/dynamic/instance-identity/document": json.dumps({
                "accountId": instance.ec2_backend.account_id, "instanceId": instance.id, "region":
                instance.ec2_backend.region_name, "availabilityZone": zone, "privateIp": instance.private_ip,
                "imageId": instance.image_id, "instanceType": instance.instance_type}),
        }
        if role_name:
            pages["/latest/meta-data/iam/security-credentials/"] = role_name
        path = path.split("?", 1)[0]
        for key in (path, path.rstrip("/")):  # SDKs ask for some leaves with a trailing slash
            if key in pages:
                return 200, pages[key]
        if role_arn and path.rstrip("/") == f"/latest/meta-data/iam/security-credentials/{role_name}":
            return 200, json.dumps(self._credentials(role_arn))
        return 404, ""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:  # noqa: N802 - http.server's name
                if self.path != "/latest/api/token":
                    self._send(404, "")
                    return
                self._send(*service._token(self.headers.get(TOKEN_TTL_HEADER)))

            def do_GET(self) -> None:  # noqa: N802
                # The instance's metadata options say HttpTokens required (IMDSv2 only).
                if not service._valid(self.headers.get(TOKEN_HEADER)):
                    self._send(401, "")
                    return
                self._send(*service.answer(self.path))

            def log_message(self, *args: Any) -> None:  # the keys' requests are not for the log
                pass

        return Handler
