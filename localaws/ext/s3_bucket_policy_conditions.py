"""A bucket policy's conditions and principals count, as S3 evaluates them.

AWS (S3 user guide, "Bucket policy examples": "Managing access based on HTTP or HTTPS requests"):
a statement applies only when its Principal names the caller and its Condition holds; the common
`Deny "*" s3:* when aws:SecureTransport is false` refuses plain-HTTP requests only, and AWS's S3
endpoints are HTTPS. A statement whose only principals are services (cloudtrail.amazonaws.com)
does not apply to an account's users.
moto 5.2.5 ignores Principal and Condition, so that Deny refuses every request, the bucket
owner's included. Here a caller's request counts as HTTPS (the local endpoint stands in for
AWS's); statements naming principals other than "*" are left to IAM, as before (not evaluated).
"""
from __future__ import annotations

from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3.models import FakeBucket

from localaws.resource_policies import decision, policy_statements

CALLER_FACTS = {"aws:SecureTransport": "true"}


def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    found = decision(policy_statements(self.policy), "*", action, resource, CALLER_FACTS)
    return {"Deny": PermissionResult.DENIED, "Allow": PermissionResult.PERMITTED}.get(
        found or "", PermissionResult.NEUTRAL)


def install() -> None:
    FakeBucket.get_permission = get_permission
