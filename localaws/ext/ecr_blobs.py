"""ECR keeps the bytes of every pushed layer and config blob, so images can be pulled.

AWS: CompleteLayerUpload stores the uploaded blob under its sha256 digest, and a task that
names the image gets exactly those bytes (the manifest's config and layers). moto 5.2.5
computes the digest and keeps only the size. Blobs go to the state directory, one file per
digest, where the local ECS reads them when a task starts.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from moto.ecr.models import ECRBackend

from localaws.state import state_dir


def blob_root() -> Path:
    return state_dir() / "ecr-blobs"


_original_complete = ECRBackend.complete_layer_upload


class BlobNotFound(LookupError):
    pass


def blob_path(digest: str) -> Path:
    algorithm, _, hex_digest = digest.partition(":")
    if algorithm != "sha256" or len(hex_digest) != 64:
        raise BlobNotFound(f"not a sha256 digest: {digest!r}")
    return blob_root() / hex_digest


def read_blob(digest: str) -> bytes:
    try:
        return blob_path(digest).read_bytes()
    except OSError:
        raise BlobNotFound(f"layer {digest} was never pushed to ECR") from None


def complete_layer_upload(self: ECRBackend, repository_name: str, upload_id: str, layer_digests: list[str],
                          registry_id: str | None = None) -> dict[str, Any]:
    repository = self._get_repository(repository_name, registry_id)
    upload = repository.uploads.get(upload_id)
    blob = bytes(upload.layer_parts) if upload is not None else None
    result = _original_complete(self, repository_name, upload_id, layer_digests, registry_id)
    if blob is not None:
        target = blob_root() / hashlib.sha256(blob).hexdigest()
        blob_root().mkdir(parents=True, exist_ok=True)
        staging = target.with_suffix(f".{upload_id}")
        staging.write_bytes(blob)
        staging.replace(target)
    return result


def install() -> None:
    ECRBackend.complete_layer_upload = complete_layer_upload
