"""The pushed image, read back from ECR as a registry client reads it: BatchGetImage for the
manifest, GetDownloadUrlForLayer for each layer and the config, then a plain HTTPS GET.

What a security reviewer looks for in the layers: any secret value the run has seen, any
private key (PEM), and SSH host keys (each task must make its own at start).
"""
from __future__ import annotations

import io
import json
import re
import tarfile
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterator

PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
HOST_KEY_FILE = re.compile(r"(^|/)etc/ssh/ssh_host_[a-z0-9]+_key$")
MAX_FILE = 8 * 1024 * 1024  # bytes read of any one file: keys and scripts are far smaller


@dataclass(frozen=True)
class LayerFile:
    layer: str  # the layer's digest, shortened
    path: str
    data: bytes


def _download(ecr: Any, repository: str, digest: str) -> bytes:
    url = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=digest)["downloadUrl"]
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 - ECR's presigned https URL
        return response.read()


def image_files(ecr: Any, repository: str, tag: str = "latest") -> Iterator[LayerFile]:
    """Every regular file of every layer, and the image config as `<config>`."""
    images = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}],
                                 acceptedMediaTypes=["application/vnd.docker.distribution.manifest.v2+json",
                                                     "application/vnd.oci.image.manifest.v1+json"])["images"]
    if not images:
        raise LookupError(f"no image tagged {tag} in ECR repository {repository}")
    manifest = json.loads(images[0]["imageManifest"])
    config = manifest["config"]["digest"]
    yield LayerFile(config[7:19], "<config>", _download(ecr, repository, config))
    for layer in manifest["layers"]:
        blob = _download(ecr, repository, layer["digest"])
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") as archive:
            for member in archive:
                if member.isfile():
                    handle = archive.extractfile(member)
                    yield LayerFile(layer["digest"][7:19], member.name, handle.read(MAX_FILE) if handle else b"")


def layer_findings(files: Iterator[LayerFile], holds_secret: Callable[[str], bool]) -> tuple[int, list[str]]:
    """(files scanned, findings): a secret value, a private key or an SSH host key in any layer."""
    scanned, findings = 0, []
    for item in files:
        scanned += 1
        where = f"layer {item.layer}: {item.path}"
        if HOST_KEY_FILE.search(item.path.lstrip("./")):
            findings.append(f"{where} is an SSH host key: every task started from the image would share it")
        elif PRIVATE_KEY.search(item.data):
            findings.append(f"{where} holds a private key")
        if holds_secret(item.data.decode("utf-8", errors="replace")):
            findings.append(f"{where} holds a secret value")
    return scanned, findings
