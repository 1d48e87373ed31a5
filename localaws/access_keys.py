"""Access keys the local AWS hands out: the administrator's, made at bootstrap, and a role's
temporary credentials, as an AWS service obtains them for the code it runs.

Lambda runs a function with its execution role's credentials; ECS resolves a task's secrets
and pulls its image with the task execution role's. Both are STS AssumeRole sessions, so
IAM evaluates (and CloudTrail records) the role, not the operator.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)

    def as_environment(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
                **({"AWS_SESSION_TOKEN": self.session_token} if self.session_token else {})}

    def as_client_kwargs(self) -> dict[str, str]:
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key,
                **({"aws_session_token": self.session_token} if self.session_token else {})}

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of this local AWS signed with this key (a service acting as its caller)."""
        return boto3.client(service, region_name=region, endpoint_url=os.environ["LOCALAWS_ENDPOINT"],
                            config=Config(retries={"max_attempts": 2}), **self.as_client_kwargs())


def assume_service_role(account_id: str, region: str, role_arn: str, session_name: str,
                        duration: int = 900) -> AccessKey:
    role = sts_backends[account_id][get_partition(region)].assume_role(
        region_name=region, role_session_name=session_name[:64], role_arn=role_arn, policy=None,
        duration=duration, external_id=None,
    )
    return AccessKey(role.access_key_id, role.secret_access_key, role.session_token)


def key_of(account_id: str, region: str, access_key_id: str) -> AccessKey | None:
    """The whole key (secret, session token) of an access key id this local AWS handed out: what a
    service that was given a token standing for the caller (ECR's docker login) signs with."""
    partition = get_partition(region)
    key = iam_backends[account_id][partition].access_keys.get(access_key_id)
    if key is None:
        return None
    session = sts_backends[account_id][partition].get_assumed_role_from_access_key(access_key_id)
    return AccessKey(access_key_id, key.secret_access_key, session.session_token if session else None)
