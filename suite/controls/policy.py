"""IAM policy statements as a reviewer reads them: which service a statement grants, and
whether its resources cover more than the secrets it should name.

Statements are plain dicts, as they appear in a template's policy documents and in the
documents IAM returns for a deployed role; both sides of the controls use these helpers.
Actions are expanded by parliament (pinned), which knows every service's actions; ARN patterns are
matched with IAM's `*`/`?` wildcards (localaws/resource_policies.py); Conditions are not evaluated (a condition can
only narrow an Allow, so a finding here is at worst an over-report).
"""
from __future__ import annotations

import fnmatch
from functools import lru_cache
from typing import Any

from localaws.resource_policies import is_glob_match  # IAM's wildcards


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


def read_ahead() -> None:
    """parliament imported (its IAM definition read: about half a second of CPU) before the first check that expands an
    action needs it: suite/early_start.py calls this in a thread while the run waits for its local AWS to start, when
    the run's own process has little else to do."""
    import parliament  # noqa: F401


@lru_cache(maxsize=None)
def _expanded(pattern: str) -> frozenset[str]:
    """`secretsmanager:Get*` -> {"secretsmanager:getsecretvalue", ...} (lower case); unknown -> empty."""
    from parliament import expand_action  # at first use: importing parliament loads its 10 MB IAM definition

    return frozenset(f"{a['service']}:{a['action']}".lower() for a in expand_action(pattern, raise_exceptions=False))


def statement_actions(statement: dict[str, Any], service: str) -> set[str]:
    """The actions of `service` a statement applies to (NotAction: all of the service's but those)."""
    everything = _expanded(f"{service}:*")
    if "NotAction" in statement:
        excluded = set().union(*(_expanded(str(a)) for a in as_list(statement["NotAction"])))
        return set(everything - excluded)
    return set(everything & set().union(*(_expanded(str(a)) for a in as_list(statement.get("Action")))))


def covers(statement: dict[str, Any], arn: str) -> bool:
    """Whether the statement's Resource (or NotResource) applies to `arn`, IAM wildcards included."""
    if "NotResource" in statement:
        return not any(is_glob_match(str(pattern), arn) for pattern in as_list(statement["NotResource"]))
    return any(is_glob_match(str(pattern), arn) for pattern in as_list(statement.get("Resource")))


def allowed_actions(document: dict[str, Any], arn: str, service: str = "secretsmanager") -> set[str]:
    """The `service` actions a policy document allows on `arn` (explicit Deny statements subtracted)."""
    statements = [s for s in as_list(document.get("Statement")) if isinstance(s, dict) and covers(s, arn)]
    allowed = set().union(*(statement_actions(s, service) for s in statements if s.get("Effect") == "Allow"))
    denied = set().union(*(statement_actions(s, service) for s in statements if s.get("Effect") == "Deny"))
    return {action for action in allowed - denied if action not in ACCOUNT_LEVEL_ACTIONS}


def named_resources(document: dict[str, Any]) -> set[str]:
    """Every Resource an Allow statement names literally (no wildcard)."""
    return {str(r) for s in as_list(document.get("Statement")) if isinstance(s, dict) and s.get("Effect") == "Allow"
            for r in as_list(s.get("Resource")) if "*" not in str(r) and "?" not in str(r)}
