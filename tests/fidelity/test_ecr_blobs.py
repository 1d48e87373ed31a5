"""localaws.ext.ecr_blobs: ECR keeps the bytes of every pushed layer and config blob, so images can be pulled."""
from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import urllib.error
import urllib.request

import pytest

from localaws.ext import ecr_blobs
from localaws.hosts.images import digest, push_image
from tests.support.ecs_world import RUN_SH, SCRIPT_PATH, hand_made_image
from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED

BLOBS = "reads the blobs the local AWS keeps in its state directory"


@pytest.fixture
def blobs(local_aws, monkeypatch):
    """ecr_blobs' readers pointed at the local AWS's state directory, where its server keeps the blobs."""
    monkeypatch.setenv("LOCALAWS_STATE_DIR", str(local_aws.state_dir))
    return ecr_blobs


@pytest.fixture
def repository(aws):
    return aws.client("ecr").create_repository(repositoryName=unique("fid-blobs"))["repository"]["repositoryName"]


def _upload(ecr, repository: str, parts: list[bytes], complete: bool = True) -> str:
    """InitiateLayerUpload, one UploadLayerPart per part, then CompleteLayerUpload; the upload id."""
    upload_id = ecr.initiate_layer_upload(repositoryName=repository)["uploadId"]
    first = 0
    for part in parts:
        ecr.upload_layer_part(repositoryName=repository, uploadId=upload_id, partFirstByte=first,
                              partLastByte=first + len(part) - 1, layerPartBlob=part)
        first += len(part)
    if complete:
        completed = ecr.complete_layer_upload(repositoryName=repository, uploadId=upload_id,
                                              layerDigests=[digest(b"".join(parts))])
        assert completed["layerDigest"] == digest(b"".join(parts))
    return upload_id


@pytest.mark.local_only(BLOBS)
def test_completed_upload_is_stored_under_its_sha256_digest(aws, blobs, repository):
    """CompleteLayerUpload: the layer's parts, in order, make one blob addressed by "sha256:" + its hex digest;
    BatchCheckLayerAvailability then reports it AVAILABLE with its size, and its bytes are kept."""
    ecr = aws.client("ecr")
    parts = [os.urandom(70_000), os.urandom(50_000)]
    blob = b"".join(parts)
    _upload(ecr, repository, parts)
    layer = ecr.batch_check_layer_availability(repositoryName=repository, layerDigests=[digest(blob)])["layers"][0]
    assert (layer["layerAvailability"], layer["layerSize"]) == ("AVAILABLE", len(blob))
    assert blobs.blob_path(digest(blob)).name == digest(blob).split(":", 1)[1]
    assert blobs.read_blob(digest(blob)) == blob


@pytest.mark.local_only(BLOBS)
def test_upload_that_is_not_completed_keeps_nothing(aws, blobs, repository):
    """Until CompleteLayerUpload the parts are not a layer: nothing is stored under their digest."""
    part = os.urandom(1000)
    _upload(aws.client("ecr"), repository, [part], complete=False)
    with pytest.raises(blobs.BlobNotFound):
        blobs.read_blob(digest(part))
    # Proof that the same bytes are stored once completed (so the check above is not vacuous).
    _upload(aws.client("ecr"), repository, [part])
    assert blobs.read_blob(digest(part)) == part


@pytest.mark.local_only(BLOBS)
def test_pushed_image_config_and_layer_are_what_its_manifest_names(aws, blobs, repository):
    """A pushed image (blobs through the layer-upload API, then PutImage with a Docker v2 manifest) is pulled as
    its manifest (BatchGetImage), whose config and layer digests give back exactly the pushed bytes."""
    ecr = aws.client("ecr")
    image = hand_made_image()
    push_image(ecr, repository, image, tag="v1")
    manifest = json.loads(ecr.batch_get_image(repositoryName=repository,
                                              imageIds=[{"imageTag": "v1"}])["images"][0]["imageManifest"])
    assert json.loads(blobs.read_blob(manifest["config"]["digest"])) == image.config
    layer = blobs.read_blob(manifest["layers"][0]["digest"])
    assert layer == image.layer
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as archive:
        script = archive.getmember(SCRIPT_PATH.lstrip("/"))
        assert archive.extractfile(script).read() == RUN_SH.encode()
        assert script.mode == 0o755


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_download_url_serves_a_layer_the_repository_holds(aws, repository):
    """GetDownloadUrlForLayer: "Retrieves the pre-signed Amazon S3 download URL corresponding to an image
    layer" -- a plain GET of downloadUrl, with no AWS credentials, returns the layer's bytes; the URL
    altered is refused with 403; a digest the repository does not hold is LayersNotFoundException
    (ECR API reference, GetDownloadUrlForLayer)."""
    ecr = aws.client("ecr")
    image = hand_made_image()
    push_image(ecr, repository, image, tag="v1")
    answer = ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=digest(image.layer))
    assert answer["layerDigest"] == digest(image.layer)
    with urllib.request.urlopen(answer["downloadUrl"], timeout=10) as response:
        assert response.read() == image.layer
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(answer["downloadUrl"].replace("Signature=", "Signature=0"), timeout=10)
    assert refused.value.code == 403
    with pytest.raises(ecr.exceptions.LayersNotFoundException):
        ecr.get_download_url_for_layer(repositoryName=repository, layerDigest=digest(b"never pushed"))
