"""Secrets Manager's answers as its API reference documents them.

AWS (Secrets Manager API reference: DescribeSecret, ListSecrets, ListSecretVersionIds,
GetSecretValue):
- DescribeSecret's VersionIdsToStages lists the versions that have staging labels (a version
  without one is deprecated: only ListSecretVersionIds with IncludeDeprecated shows it);
  ListSecrets' entries hold the same map as SecretVersionsToStages, and only there.
- LastAccessedDate is the day (midnight UTC) the secret, or a version, was last read with
  GetSecretValue; a version's CreatedDate is when it was made, and does not change.
- ListSecretVersionIds answers the secret's ARN and name, its labelled versions (all of them
  with IncludeDeprecated=true), each with CreatedDate (and LastAccessedDate once read), and
  NextToken only when a page follows (MaxResults).
moto 5.2.5 answers SecretVersionsToStages in DescribeSecret, unlabelled versions in
VersionIdsToStages, never sets LastAccessedDate, and for ListSecretVersionIds gives the
SecretId as the ARN, the time of the call as each version's CreatedDate and LastAccessedDate,
ignores IncludeDeprecated and answers NextToken "".
"""
from __future__ import annotations

import json
import time
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend
from moto.secretsmanager.responses import SecretsManagerResponse

DAY = 86400


def today() -> int:
    """Now, to the day (AWS keeps LastAccessedDate to the day)."""
    return int(time.time()) // DAY * DAY


_original_get_secret_value = SecretsManagerBackend.get_secret_value


def get_secret_value(self: SecretsManagerBackend, secret_id: str, version_id: str, version_stage: str) -> Any:
    answer = _original_get_secret_value(self, secret_id, version_id, version_stage)
    secret = self.secrets[secret_id]
    secret.last_accessed_date = today()
    version = secret.versions.get(answer.get("VersionId") if isinstance(answer, dict) else None)
    if version is not None:
        version["last_accessed_date"] = today()
    return answer


_original_to_dict = FakeSecret.to_dict


def to_dict(self: FakeSecret) -> dict[str, Any]:
    described = _original_to_dict(self)
    labelled = {version: stages for version, stages in (described.get("VersionIdsToStages") or {}).items() if stages}
    if "VersionIdsToStages" in described:
        described["VersionIdsToStages"] = described["SecretVersionsToStages"] = labelled
    described["LastAccessedDate"] = getattr(self, "last_accessed_date", None)
    if "RotationRules" in described and self.__dict__.get("_rotation_rules"):
        described["RotationRules"] = dict(self.__dict__["_rotation_rules"])
    return {key: value for key, value in described.items() if value is not None}


_original_describe_secret = SecretsManagerResponse.describe_secret
_original_list_secrets = SecretsManagerResponse.list_secrets


def describe_secret(self: SecretsManagerResponse) -> str:
    described = json.loads(_original_describe_secret(self))
    described.pop("SecretVersionsToStages", None)  # ListSecrets' name for the map
    return json.dumps(described)


def list_secrets(self: SecretsManagerResponse) -> str:
    listed = json.loads(_original_list_secrets(self))
    for entry in listed.get("SecretList", []):
        entry.pop("VersionIdsToStages", None)  # DescribeSecret's name for the map
    return json.dumps(listed)


def list_secret_version_ids(self: SecretsManagerResponse) -> str:
    secret = self.backend.describe_secret(self._get_param("SecretId"))
    deprecated_too = self._get_bool_param("IncludeDeprecated", False)
    versions = [{"VersionId": version_id, "VersionStages": list(version["version_stages"]),
                 "CreatedDate": version["createdate"],
                 **({"LastAccessedDate": version["last_accessed_date"]} if "last_accessed_date" in version else {})}
                for version_id, version in secret.versions.items()
                if deprecated_too or version["version_stages"]]
    token, size = self._get_param("NextToken"), self._get_param("MaxResults")
    if token is not None and not str(token).isdigit():
        raise JsonRESTError("InvalidNextTokenException", "The NextToken value is invalid.")
    if size is not None and not 1 <= int(size) <= 100:
        raise JsonRESTError("InvalidParameterException", "MaxResults must be between 1 and 100.")
    start, size = int(token or 0), int(size or len(versions) or 1)
    answer: dict[str, Any] = {"ARN": secret.arn, "Name": secret.name, "Versions": versions[start:start + size]}
    if start + size < len(versions):
        answer["NextToken"] = str(start + size)
    return json.dumps(answer)


def install() -> None:
    SecretsManagerBackend.get_secret_value = get_secret_value
    FakeSecret.to_dict = to_dict
    SecretsManagerResponse.describe_secret = describe_secret
    SecretsManagerResponse.list_secrets = list_secrets
    SecretsManagerResponse.list_secret_version_ids = list_secret_version_ids
