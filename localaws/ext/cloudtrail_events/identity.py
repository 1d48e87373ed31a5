"""Who made a call: the userIdentity CloudTrail writes for an access key.

An IAM user's key gives `IAMUser` (its ARN and userName); an STS session's gives
`AssumedRole`: arn `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, principalId
`ROLEID:SESSION`, and sessionContext.sessionIssuer, the role. Event history's Username is
the user name, or the role session name.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends


@dataclass(frozen=True)
class Caller:
    user_identity: dict[str, Any]
    username: str


def iso(epoch: float) -> str:
    """An event time as CloudTrail writes it: whole seconds, UTC."""
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iam_user(account: str, partition: str, key_id: str) -> Caller | None:
    for user in list(iam_backends[account][partition].users.values()):
        if any(key.access_key_id == key_id for key in user.access_keys):
            return Caller({"type": "IAMUser", "principalId": user.id, "arn": user.arn, "accountId": account,
                           "accessKeyId": key_id, "userName": user.name}, user.name)
    return None


def _assumed_role(account: str, partition: str, key_id: str) -> Caller | None:
    for session in reversed(sts_backends[account][partition].assumed_roles):
        if session.access_key_id != key_id:
            continue
        role_name = session.role_arn.split("/")[-1]
        try:
            role_id = iam_backends[account][partition].get_role_by_arn(session.role_arn).id
        except Exception:  # the role is gone: AWS still names the session
            role_id = "AROA" + hashlib.sha1(session.role_arn.encode()).hexdigest()[:17].upper()
        issuer = {"type": "Role", "principalId": role_id, "arn": session.role_arn, "accountId": account,
                  "userName": role_name}
        return Caller({"type": "AssumedRole", "principalId": f"{role_id}:{session.session_name}",
                       "arn": session.arn, "accountId": account, "accessKeyId": key_id,
                       "sessionContext": {"sessionIssuer": issuer,
                                          "attributes": {"creationDate": iso(time.time()),
                                                         "mfaAuthenticated": "false"}}},
                      session.session_name)
    return None


def find_caller(account: str, partition: str, key_id: str) -> Caller | None:
    """The principal behind an access key (IAM user or STS session); None if unknown."""
    return _iam_user(account, partition, key_id) or _assumed_role(account, partition, key_id)
