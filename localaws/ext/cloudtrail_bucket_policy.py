"""CloudTrail checks the bucket policy before it takes a trail.

AWS (CloudTrail user guide, "Amazon S3 bucket policy for CloudTrail"; CreateTrail and
StartLogging API references): the trail's bucket policy must let the service principal
`cloudtrail.amazonaws.com` call s3:GetBucketAcl on the bucket and s3:PutObject on
`<bucket>/[<prefix>/]AWSLogs/<account>/*` (with `s3:x-amz-acl` bucket-owner-full-control; the
`aws:SourceArn` / `aws:SourceAccount` conditions, when present, must name this trail and
account). Otherwise CreateTrail and StartLogging fail with InsufficientS3BucketPolicyException
"Incorrect S3 bucket policy is detected for bucket: <name>".
moto 5.2.5 only checks that the bucket exists.
"""
from __future__ import annotations

from typing import Any

from moto.cloudtrail.models import CloudTrailBackend, Trail
from moto.core.exceptions import JsonRESTError
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from localaws.resource_policies import policy_statements, service_allowed

SERVICE = "cloudtrail.amazonaws.com"


class InsufficientS3BucketPolicyException(JsonRESTError):
    code = 400

    def __init__(self, bucket: str):
        super().__init__("InsufficientS3BucketPolicyException",
                         f"Incorrect S3 bucket policy is detected for bucket: {bucket}")


def _statements(account_id: str, region: str, bucket_name: str) -> list[dict[str, Any]] | None:
    """The bucket policy's statements; None when there is no such bucket (CloudTrail then says that)."""
    try:
        bucket = s3_backends[account_id][get_partition(region)].get_bucket(bucket_name)
    except Exception:
        return None
    return policy_statements(bucket.policy) if bucket.policy else []


def may_deliver(account_id: str, region: str, trail_arn: str, bucket: str, prefix: str | None) -> bool:
    statements = _statements(account_id, region, bucket)
    if statements is None:
        return True  # moto's S3BucketDoesNotExistException comes next
    facts = {"aws:SourceArn": trail_arn, "aws:SourceAccount": account_id, "aws:SecureTransport": "true",
             "s3:x-amz-acl": "bucket-owner-full-control"}
    partition = get_partition(region)
    log_file = (f"arn:{partition}:s3:::{bucket}/{prefix + '/' if prefix else ''}AWSLogs/{account_id}/CloudTrail/"
                f"{region}/2000/01/01/log.json.gz")
    return (service_allowed(statements, SERVICE, "s3:GetBucketAcl", f"arn:{partition}:s3:::{bucket}", facts)
            and service_allowed(statements, SERVICE, "s3:PutObject", log_file, facts))


def _check(backend: CloudTrailBackend, name: str, bucket: str, prefix: str | None) -> None:
    arn = f"arn:{get_partition(backend.region_name)}:cloudtrail:{backend.region_name}:{backend.account_id}:trail/{name}"
    if not may_deliver(backend.account_id, backend.region_name, arn, bucket, prefix):
        raise InsufficientS3BucketPolicyException(bucket)


_original_create = CloudTrailBackend.create_trail
_original_start = CloudTrailBackend.start_logging


def create_trail(self: CloudTrailBackend, name: str, bucket_name: str, s3_key_prefix: str, *args: Any,
                 **kwargs: Any) -> Trail:
    _check(self, name, bucket_name, s3_key_prefix)
    return _original_create(self, name, bucket_name, s3_key_prefix, *args, **kwargs)


def start_logging(self: CloudTrailBackend, name: str) -> None:
    trail = self.get_trail(name)
    _check(self, trail.trail_name, trail.bucket_name, trail.s3_key_prefix)
    return _original_start(self, name)


def install() -> None:
    CloudTrailBackend.create_trail = create_trail
    CloudTrailBackend.start_logging = start_logging
