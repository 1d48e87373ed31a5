"""ECR GetDownloadUrlForLayer: a short-lived URL that serves a pushed layer's bytes.

AWS (ECR API reference, GetDownloadUrlForLayer): "Retrieves the pre-signed Amazon S3 download URL
corresponding to an image layer"; the answer is {downloadUrl, layerDigest}; a digest the repository
does not hold is LayersNotFoundException ("The specified layers could not be found"); a layer in
the middle of an upload is LayerInaccessibleException. The URL needs no AWS credentials and expires
(a presigned S3 GET); a URL altered or expired is refused with 403.
moto 5.2.5 raises NotImplementedError.

Here the URL points at the local AWS itself (`/_localaws/ecr-layer/<digest>`), signed with a key
made when the server starts; the bytes are those localaws.ext.ecr_blobs kept at push time.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
import urllib.parse
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr.responses import ECRResponse
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from localaws.ext.ecr_blobs import BlobNotFound, read_blob

PATH = "/_localaws/ecr-layer/"
LIFETIME = 3600  # seconds, as ECR's URLs
_KEY = secrets.token_bytes(32)


class LayersNotFoundException(ServiceException):
    code = "LayersNotFoundException"


def _signature(digest: str, expires: int) -> str:
    return hmac.new(_KEY, f"{digest}\n{expires}".encode(), hashlib.sha256).hexdigest()


def _layers_of(repository: Any) -> set[str]:
    """Every config and layer digest the repository's images name."""
    digests = set()
    for image in repository.images:
        manifest = json.loads(image.image_manifest)
        digests.add(manifest.get("config", {}).get("digest"))
        digests.update(layer.get("digest") for layer in manifest.get("layers", []))
    return digests - {None}


def get_download_url_for_layer(self: ECRResponse) -> ActionResult:
    name, digest = self._get_param("repositoryName"), self._get_param("layerDigest")
    repository = self.ecr_backend._get_repository(name, self._get_param("registryId"))
    if digest not in _layers_of(repository):
        raise LayersNotFoundException("The specified layers could not be found.")
    expires = int(time.time()) + LIFETIME
    query = urllib.parse.urlencode({"Expires": expires, "Signature": _signature(digest, expires)})
    return ActionResult({"downloadUrl": f"{os.environ['LOCALAWS_ENDPOINT']}{PATH}{digest}?{query}",
                         "layerDigest": digest})


def _serve_layer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    digest = environ["PATH_INFO"][len(PATH):]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    expires = int((query.get("Expires") or ["0"])[0] or 0)
    signature = (query.get("Signature") or [""])[0]
    if expires < time.time() or not hmac.compare_digest(signature, _signature(digest, expires)):
        body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
                b"<Message>Request has expired or the signature does not match</Message></Error>")
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]
    try:
        body = read_blob(digest)
    except BlobNotFound:
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))])
    return [body]


_original_call = DomainDispatcherApplication.__call__


def dispatch(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO", "").startswith(PATH):
        return _serve_layer(environ, start_response)
    return _original_call(self, environ, start_response)


def install() -> None:
    ECRResponse.get_download_url_for_layer = get_download_url_for_layer
    DomainDispatcherApplication.__call__ = dispatch
