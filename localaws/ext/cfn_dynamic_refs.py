"""CloudFormation dynamic references to Secrets Manager.

AWS: `{{resolve:secretsmanager:secret-id:SecretString:json-key:version-stage:version-id}}`
in a resource property is replaced, when the resource is created, by the secret's value
(secret-id is a name or a full ARN; json-key, version-stage and version-id are optional;
the default stage is AWSCURRENT). moto 5.2.5 passes the literal text through.
"""
from __future__ import annotations

import json
import re
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.secretsmanager.models import secretsmanager_backends

PATTERN = re.compile(r"\{\{resolve:secretsmanager:([^}]*)\}\}")


def parse_reference(body: str) -> dict[str, str | None]:
    """Split the part after `resolve:secretsmanager:` into its fields."""
    parts = body.split(":")
    if parts[0] == "arn":
        secret_id, rest = ":".join(parts[:7]), parts[7:]
    else:
        secret_id, rest = parts[0], parts[1:]
    rest += [""] * (4 - len(rest))
    value_type, json_key, stage, version_id = rest[:4]
    if value_type not in ("", "SecretString"):
        raise ValidationError(message=f"Dynamic reference to {secret_id}: only SecretString is supported, got "
                              f"{value_type!r}")
    return {"secret_id": secret_id, "json_key": json_key or None,
            "stage": stage or None, "version_id": version_id or None}


def resolve(body: str, account_id: str, region: str) -> str:
    ref = parse_reference(body)
    backend = secretsmanager_backends[account_id][region]
    stage = ref["stage"] or (None if ref["version_id"] else "AWSCURRENT")
    try:
        value = backend.get_secret_value(ref["secret_id"], ref["version_id"], stage)["SecretString"]
    except Exception as error:
        raise ValidationError(message=f"Dynamic reference to secret {ref['secret_id']} could not be resolved: "
                              f"{type(error).__name__}")
    if ref["json_key"] is None:
        return value
    try:
        return str(json.loads(value)[ref["json_key"]])
    except (ValueError, KeyError, TypeError):
        raise ValidationError(message=f"Dynamic reference: secret {ref['secret_id']} has no JSON key "
                              f"{ref['json_key']!r}")


_original_clean_json = parsing.clean_json


def clean_json(resource_json: Any, resources_map: Any) -> Any:
    cleaned = _original_clean_json(resource_json, resources_map)
    if isinstance(cleaned, str) and "{{resolve:secretsmanager:" in cleaned:
        account_id, region = resources_map._account_id, resources_map._region_name
        cleaned = PATTERN.sub(lambda match: resolve(match.group(1), account_id, region), cleaned)
    return cleaned


def install() -> None:
    parsing.clean_json = clean_json
