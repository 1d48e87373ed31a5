"""ECR's authorization token stands for the caller who asked for it, for 12 hours.

AWS (ECR user guide, "Private registry authentication"; API reference, GetAuthorizationToken): the
token is base64 of "AWS:<password>"; `docker login --username AWS --password-stdin <registry>` with that
password authenticates to the registry as the IAM principal that called GetAuthorizationToken, whose
permissions (ecr:InitiateLayerUpload, ecr:PutImage, ...) then decide each push; it expires after 12
hours (expiresAt). moto 5.2.5 answers a fixed password ("<account>-auth-token") for anyone, expired in 2015.
Here each token is random and remembered with the caller's access key: the local Docker engine
(localaws/hosts/docker_engine.py) pushes with that key, so IAM evaluates the caller's policies.
"""
from __future__ import annotations

import base64
import datetime
import re
import secrets
import threading
from typing import Any

from moto.ecr.responses import ECRResponse

from localaws.access_keys import AccessKey, key_of

VALIDITY = datetime.timedelta(hours=12)
_TOKENS: dict[str, tuple[str, str, str, datetime.datetime]] = {}  # password -> account, region, key id, expiry
_LOCK = threading.Lock()
_original = ECRResponse.get_authorization_token


def get_authorization_token(self: ECRResponse) -> Any:
    result = _original(self)
    found = re.search(r"Credential=([A-Z0-9]+)/", self.headers.get("Authorization", ""))
    expires = datetime.datetime.now(datetime.timezone.utc) + VALIDITY
    for item in result.result["authorizationData"]:
        password = secrets.token_urlsafe(48)
        item["authorizationToken"] = base64.b64encode(f"AWS:{password}".encode()).decode()
        item["expiresAt"] = expires
        if found:
            with _LOCK:
                _TOKENS[password] = (self.current_account, self.region, found.group(1), expires)
    return result


def caller_of(password: str) -> AccessKey | None:
    """The key of whoever got this registry password, while it is valid; None for any other."""
    with _LOCK:
        entry = _TOKENS.get(password)
    if entry is None or entry[3] < datetime.datetime.now(datetime.timezone.utc):
        return None
    account_id, region, key_id, _ = entry
    return key_of(account_id, region, key_id)


def install() -> None:
    ECRResponse.get_authorization_token = get_authorization_token
