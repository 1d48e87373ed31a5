"""Access keys the local AWS hands out: the administrator's, made at bootstrap, and a role's
temporary credentials, as an AWS service obtains them for the code it runs.

Lambda runs a function with its execution role's credentials; ECS resolves a task's secrets,
pulls its image and creates its log stream with the task execution role's; an instance's metadata
service hands out its profile role's. All are STS AssumeRole sessions, so IAM evaluates (and
CloudTrail records) the role, not the operator, and each is granted only when the role's trust
policy admits the service (localaws/service_roles.py).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from localaws.service_roles import RoleNotAssumable, service_may_assume

# moto's models are imported where the server uses them: the suite imports AccessKey alone, and moto's import
# costs it a third of a second.


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

    def allows(self, account_id: str, region: str, action: str, resource: str = "*") -> bool:
        """Whether this role session's identity policies allow `action` on `resource`, as IAM decides
        a request signed with it (localaws/ext/iam_enforcement.py): what a service checks before acting."""
        from moto.iam.access_control import AssumedRoleAccessKey, PermissionResult
        from moto.utilities.utils import get_partition

        from localaws.ext.iam_enforcement import identity_decision

        session = AssumedRoleAccessKey(account_id, get_partition(region), self.access_key_id,
                                       {"X-Amz-Security-Token": self.session_token or ""})
        return identity_decision(session.collect_policies(), action, resource) == PermissionResult.PERMITTED

    def client(self, service: str, region: str) -> Any:
        """A boto3 client of this local AWS signed with this key (a service acting as its caller)."""
        return boto3.client(service, region_name=region, endpoint_url=os.environ["LOCALAWS_ENDPOINT"],
                            config=Config(retries={"max_attempts": 2}), **self.as_client_kwargs())


def assume_service_role(account_id: str, region: str, role_arn: str, session_name: str, service: str,
                        facts: dict[str, str] | None = None, duration: int = 900) -> AccessKey:
    """The role's temporary credentials, as `service` obtains them (RoleNotAssumable when the role's
    trust policy does not admit `service` with these request `facts`)."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    if not service_may_assume(account_id, region, role_arn, service, facts):
        raise RoleNotAssumable(role_arn, service)
    role = sts_backends[account_id][get_partition(region)].assume_role(
        region_name=region, role_session_name=session_name[:64], role_arn=role_arn, policy=None,
        duration=duration, external_id=None,
    )
    return AccessKey(role.access_key_id, role.secret_access_key, role.session_token)


def key_of(account_id: str, region: str, access_key_id: str) -> AccessKey | None:
    """The whole key (secret, session token) of an access key id this local AWS handed out: what a
    service that was given a token standing for the caller (ECR's docker login) signs with."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    partition = get_partition(region)
    key = iam_backends[account_id][partition].access_keys.get(access_key_id)
    if key is None:
        return None
    session = sts_backends[account_id][partition].get_assumed_role_from_access_key(access_key_id)
    return AccessKey(access_key_id, key.secret_access_key, session.session_token if session else None)
