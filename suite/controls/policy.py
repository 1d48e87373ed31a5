"""IAM policy statements as a reviewer reads them: which service a statement grants, and
whether its resources cover more than the secrets it should name.

Statements are plain dicts, as they appear in a template's policy documents and in the
documents IAM returns for a deployed role; both sides of the controls use these helpers.
"""
from __future__ import annotations

import fnmatch
from typing import Any

# Secrets Manager actions that take no secret ARN: AWS authorises them on "*".
ACCOUNT_LEVEL_ACTIONS = {"secretsmanager:getrandompassword", "secretsmanager:listsecrets",
                         "secretsmanager:batchgetsecretvalue"}


def as_list(value: Any) -> list:
    """A policy field that may be one value or a list of them."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def action_covers_service(action: str, service: str) -> bool:
    """True if an IAM action pattern (``*``, ``secretsmanager:Get*``, ``secrets*:*``) can match
    an action of ``service``."""
    action = action.lower()
    prefix = action.split(":", 1)[0] if ":" in action else action
    return fnmatch.fnmatchcase(service.lower(), prefix)


def grants_service(statement: dict[str, Any], service: str = "secretsmanager") -> bool:
    """An Allow statement that grants at least one action of ``service`` (NotAction counts)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotAction" in statement:
        return True
    return any(isinstance(a, str) and action_covers_service(a, service) for a in as_list(statement.get("Action")))


def only_account_level(statement: dict[str, Any]) -> bool:
    """Every action of the statement is one AWS authorises on "*" (GetRandomPassword ...)."""
    return "NotAction" not in statement and all(
        str(action).lower() in ACCOUNT_LEVEL_ACTIONS for action in as_list(statement.get("Action")))


def broad_resources(statement: dict[str, Any], probes: list[str]) -> list[str]:
    """The statement's Resource entries that cover any of the `probes` ARNs ("*", arn:...:secret:*, ...)."""
    if "NotResource" in statement or "Resource" not in statement:
        return [f"NotResource {statement.get('NotResource')!r}" if "NotResource" in statement else "no Resource"]
    return [str(resource) for resource in as_list(statement["Resource"])
            if any(fnmatch.fnmatchcase(probe, str(resource)) for probe in probes)]
