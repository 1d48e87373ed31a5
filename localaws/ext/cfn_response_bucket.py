"""The ResponseURL of a custom resource request: a presigned PUT to CloudFormation's response bucket at S3's
endpoint, as AWS sends it ("Custom resource request objects": "The response URL identifies a presigned S3
bucket that receives responses from the custom resource provider to CloudFormation").

A function answers with an HTTPS PUT of its JSON to that URL; S3 refuses an altered URL
(SignatureDoesNotMatch) or an expired one (AccessDenied, "Request has expired"). Here the local AWS's
S3 endpoint serves the bucket's host name itself, and a waiting request (`awaiting`) gets the body.
"""
from __future__ import annotations

import calendar
import contextlib
import hashlib
import hmac
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Iterator

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from localaws.network.endpoint_names import cloudformation_response_bucket

URL_LIFETIME = 7200  # seconds a ResponseURL is good for (AWS's are presigned for two hours)
BUCKET_PREFIX = cloudformation_response_bucket("")
_KEY = secrets.token_bytes(32)


def bucket_host(region: str) -> str:
    """S3's name for the bucket (us-east-1's without the region, as S3's global endpoint)."""
    bucket = cloudformation_response_bucket(region)
    return f"{bucket}.s3.amazonaws.com" if region == "us-east-1" else f"{bucket}.s3.{region}.amazonaws.com"


AMZ_DATE = "%Y%m%dT%H%M%SZ"


def _signature(key: str, date: str, lifetime: str) -> str:
    return hmac.new(_KEY, f"{key}\n{date}\n{lifetime}".encode(), hashlib.sha256).hexdigest()


def response_url(region: str, stack_id: str, logical_id: str, request_id: str) -> str:
    key = f"{stack_id}|{logical_id}|{request_id}"
    date = time.strftime(AMZ_DATE, time.gmtime())
    query = urllib.parse.urlencode({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Date": date, "X-Amz-SignedHeaders": "host",
        "X-Amz-Expires": URL_LIFETIME, "X-Amz-Signature": _signature(key, date, str(URL_LIFETIME))})
    return f"https://{bucket_host(region)}/{urllib.parse.quote(key, safe='')}?{query}"


def _expired(date: str, lifetime: str) -> bool:
    try:
        signed = calendar.timegm(time.strptime(date, AMZ_DATE))
        return signed + int(lifetime) < time.time()
    except ValueError:
        return True


@dataclass
class Pending:
    """A request sent and not yet answered; `answered` is set when its response arrives."""

    answered: threading.Event = field(default_factory=threading.Event)
    body: bytes = b""


_PENDING: dict[str, Pending] = {}  # by the response's object key (STACKID|LOGICALID|REQUESTID)
_LOCK = threading.Lock()


@contextlib.contextmanager
def awaiting(key: str) -> Iterator[Pending]:
    """A request under way whose answer the response bucket hands over (key: STACKID|LOGICALID|REQUESTID)."""
    pending = Pending()
    with _LOCK:
        _PENDING[key] = pending
    try:
        yield pending
    finally:
        with _LOCK:
            _PENDING.pop(key, None)


def _s3_error(start_response: Any, status: str, code: str, message: str) -> list[bytes]:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            "</Error>").encode()
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _serve_response(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """S3's PutObject on a presigned URL: the answer is taken; an altered or expired URL is refused."""
    if environ.get("REQUEST_METHOD") != "PUT":
        return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Access Denied")
    key = urllib.parse.unquote(environ.get("PATH_INFO", "").lstrip("/"))
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    date, lifetime, signature = ((query.get(name) or [""])[0]
                                 for name in ("X-Amz-Date", "X-Amz-Expires", "X-Amz-Signature"))
    if not hmac.compare_digest(signature, _signature(key, date, lifetime)):
        return _s3_error(start_response, "403 Forbidden", "SignatureDoesNotMatch",
                         "The request signature we calculated does not match the signature you provided.")
    if _expired(date, lifetime):
        return _s3_error(start_response, "403 Forbidden", "AccessDenied", "Request has expired")
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    with _LOCK:
        pending = _PENDING.get(key)
    if pending is not None and not pending.answered.is_set():
        pending.body = body
        pending.answered.set()
    etag = hashlib.md5(body).hexdigest()  # noqa: S324 - S3's ETag of a single-part object
    start_response("200 OK", [("ETag", f'"{etag}"'), ("Content-Length", "0")])
    return [b""]


def _is_response_bucket(environ: dict[str, Any]) -> bool:
    host = str(environ.get("HTTP_HOST", "")).split(":", 1)[0]
    return host.startswith(BUCKET_PREFIX) and ".s3." in host


_original_call = DomainDispatcherApplication.__call__


def dispatch(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    if _is_response_bucket(environ):
        return _serve_response(environ, start_response)
    return _original_call(self, environ, start_response)


def install() -> None:
    global _original_call
    _original_call = DomainDispatcherApplication.__call__
    DomainDispatcherApplication.__call__ = dispatch
