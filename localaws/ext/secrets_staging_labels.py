"""Secrets Manager's staging labels as new versions and label moves leave them, as AWS documents.

AWS (Secrets Manager API reference):
- UpdateSecretVersionStage: "Each staging label can be attached to only one version at a time"; "If
  the staging label you are trying to attach to one version is already attached to a different version,
  then you must include [RemoveFromVersionId] ... If the label is attached and you either do not specify
  this parameter, or the version ID does not match, then the operation fails" -- for every label, not
  AWSCURRENT alone. The labels given "are added to the existing list": a label is never listed twice.
- PutSecretValue, VersionStages: "If you specify a staging label that's already associated with a
  different version of the same secret, then Secrets Manager removes the label from the other version";
  moving AWSCURRENT moves AWSPREVIOUS to the version it left, whose other labels stay.
- PutSecretValue is idempotent for a version's token and data, "However, if the secret data is different,
  then the operation fails because you can't modify an existing version" (ResourceExistsException); the
  empty version a rotation starts with (AWSPENDING, no value yet) is the one the function's createSecret fills.
- CloudTrail user guide, RotationAbandoned: "Secrets Manager abandons rotation when you create a new
  version of a secret during rotation" and "removes the AWSPENDING label from an existing version".
moto 5.2.5 checks only AWSCURRENT's RemoveFromVersionId and lists a label again when moved onto a version
that has it; a version made AWSCURRENT replaces the old one's labels with AWSPREVIOUS alone (clearing
AWSPENDING and any other label there) and leaves the other labels it names where they were; it lets a
version holding AWSPENDING be overwritten with other data; and a new version leaves a pending rotation's
AWSPENDING in place.
"""
from __future__ import annotations

import logging
from typing import Any

from moto.secretsmanager.exceptions import InvalidParameterException, ResourceExistsException
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

log = logging.getLogger("localaws.rotation")


def holder(secret: FakeSecret, label: str) -> str | None:
    """The version a staging label is attached to."""
    return next((version_id for version_id, version in secret.versions.items()
                 if label in version["version_stages"]), None)


def pending_rotation(secret: FakeSecret) -> str | None:
    """The version of a rotation in progress (or left unfinished): AWSPENDING away from AWSCURRENT."""
    pending = holder(secret, "AWSPENDING")
    return pending if pending and "AWSCURRENT" not in secret.versions[pending]["version_stages"] else None


def _has_value(version: dict[str, Any]) -> bool:
    return "secret_string" in version or "secret_binary" in version


_original_update_stage = SecretsManagerBackend.update_secret_version_stage


def update_secret_version_stage(self: SecretsManagerBackend, secret_id: str, version_stage: str,
                                remove_from_version_id: str | None, move_to_version_id: str | None) -> Any:
    secret = self.secrets[secret_id] if secret_id in self.secrets else None
    attached = holder(secret, version_stage) if secret is not None else None
    if secret is not None and move_to_version_id and attached not in (None, move_to_version_id) \
            and not remove_from_version_id:
        raise InvalidParameterException(
            f"The parameter RemoveFromVersionId can't be empty. Staging label {version_stage} is currently attached "
            f"to version {attached}, so you must explicitly reference that version in RemoveFromVersionId.")
    answer = _original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    for version in self.secrets[secret_id].versions.values():  # a label listed once per version
        version["version_stages"][:] = list(dict.fromkeys(version["version_stages"]))
    return answer


def reset_default_version(self: FakeSecret, secret_version: dict[str, Any], version_id: str) -> None:
    """A new version made AWSCURRENT: each label it names leaves the version that held it; AWSPREVIOUS
    goes to the version AWSCURRENT left, whose other labels stay."""
    current = holder(self, "AWSCURRENT")
    for label in secret_version["version_stages"]:
        for other_id, other in self.versions.items():
            if other_id != version_id and label in other["version_stages"]:
                other["version_stages"].remove(label)
    if current and current != version_id:
        for other in self.versions.values():
            if "AWSPREVIOUS" in other["version_stages"]:
                other["version_stages"].remove("AWSPREVIOUS")
        self.versions[current]["version_stages"].append("AWSPREVIOUS")
    self.versions[version_id] = secret_version
    self.default_version_id = version_id


_original_check = SecretsManagerBackend._check_with_existing_secrets_and_versions


def _check_with_existing_secrets_and_versions(self: SecretsManagerBackend, secret_name: str,
                                              client_request_token: str | None, secret_string: str | None,
                                              secret_binary: str | None, on_create: bool = False) -> Any:
    secret = self.secrets[secret_name] if secret_name in self.secrets.keys() else None
    version = secret.versions.get(client_request_token) if secret is not None and client_request_token else None
    # moto lets any AWSPENDING version be rewritten; AWS only fills one that has no value yet.
    if secret is not None and version is not None and _has_value(version) and (
            version.get("secret_string") != secret_string or version.get("secret_binary") != secret_binary):
        raise ResourceExistsException(
            f"You can't use ClientRequestToken {client_request_token} because that value is already in use for a "
            f"version of secret {secret.arn}.")
    return _original_check(self, secret_name, client_request_token, secret_string, secret_binary, on_create)


_original_add_secret = SecretsManagerBackend._add_secret


def _add_secret(self: SecretsManagerBackend, secret_id: str, *args: Any, **kwargs: Any) -> Any:
    existing = self.secrets[secret_id] if secret_id in self.secrets else None
    pending = pending_rotation(existing) if isinstance(existing, FakeSecret) else None
    secret, new_version = _original_add_secret(self, secret_id, *args, **kwargs)
    made = kwargs.get("version_id")
    if pending and new_version and made != pending and pending in secret.versions \
            and "AWSPENDING" in secret.versions[pending]["version_stages"]:
        # A new version during rotation abandons it (CloudTrail: RotationAbandoned).
        secret.versions[pending]["version_stages"].remove("AWSPENDING")
        secret.__dict__["_last_rotation_error"] = "rotation abandoned: a new version was created during rotation"
        log.info("rotation of %s abandoned: AWSPENDING removed from version %s", secret.name, pending)
    return secret, new_version


def install() -> None:
    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage
    FakeSecret.reset_default_version = reset_default_version
    SecretsManagerBackend._check_with_existing_secrets_and_versions = (
        _check_with_existing_secrets_and_versions)
    SecretsManagerBackend._add_secret = _add_secret
