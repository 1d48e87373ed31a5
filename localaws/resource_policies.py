"""Resource-based policies, evaluated as AWS evaluates them for a service principal.

A statement applies when its Principal names the service (or "*"), its Action covers the action
(`service:Action`, or a pattern with wildcards: `service:Get*`, `service:*`, `*`), its Resource (when
it has one) covers the resource, and every condition holds for the request's facts (keys are
case-insensitive; StringEquals, StringLike, ArnEquals, ArnLike, Bool; a condition on a key the request
does not carry does not hold). An explicit Deny that applies wins over any Allow.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Any, Iterable


@functools.lru_cache(maxsize=4096)
def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def is_glob_match(pattern: str, value: str) -> bool:
    """Whether a concrete `value` (an ARN, an action, a condition's fact) matches a policy's `pattern` with IAM's
    wildcards: `*` any run of characters, `?` any one character (IAM User Guide, "IAM JSON policy elements:
    Resource", wildcards in ARNs; StringLike and ArnLike take the same two). Case-sensitive: callers lower-case
    what IAM compares without case (actions). parliament's match, used before, took `?` for itself."""
    return _wildcard(pattern).fullmatch(value) is not None


def policy_statements(document: str | bytes) -> list[dict[str, Any]]:
    """A policy document's statements, as a list (a document may give one statement alone)."""
    statements = json.loads(document).get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def values(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, list) else [value])]


def condition_holds(condition: dict[str, Any], facts: dict[str, str]) -> bool:
    known = {key.lower(): value for key, value in facts.items()}
    for operator, tests in (condition or {}).items():
        for key, wanted in tests.items():
            fact = known.get(key.lower())
            if fact is None:
                return False
            if operator in ("StringEquals", "ArnEquals"):
                holds = fact in values(wanted)
            elif operator in ("StringLike", "ArnLike"):
                holds = any(is_glob_match(pattern, fact) for pattern in values(wanted))
            elif operator == "Bool":
                holds = fact.lower() in [v.lower() for v in values(wanted)]
            else:
                holds = False
            if not holds:
                return False
    return True


def _principals(principal: Any) -> list[str]:
    if isinstance(principal, dict):
        return values(principal.get("Service", [])) + values(principal.get("AWS", []))
    return values(principal)


def _applies(statement: dict[str, Any], principal: str, action: str, resource: str | None,
             facts: dict[str, str]) -> bool:
    principals = _principals(statement.get("Principal"))
    if principal not in principals and "*" not in principals:
        return False
    if not any(is_glob_match(pattern.lower(), action.lower()) for pattern in values(statement.get("Action", []))):
        return False  # "kms:GenerateDataKey*", "s3:*", "*": an action may be given with wildcards
    if resource is not None and "Resource" in statement and not any(
            is_glob_match(pattern, resource) for pattern in values(statement["Resource"])):
        return False
    return condition_holds(statement.get("Condition", {}), facts)


def decision(statements: Iterable[dict[str, Any]], principal: str, action: str, resource: str | None,
             facts: dict[str, str]) -> str | None:
    """"Deny" (an applicable Deny), "Allow" (an applicable Allow and no Deny) or None (no statement applies)
    for `principal` (a service principal, or "*" for any caller) doing `action` on `resource`."""
    applicable = [s for s in statements if isinstance(s, dict) and _applies(s, principal, action, resource, facts)]
    if any(s.get("Effect") == "Deny" for s in applicable):
        return "Deny"
    return "Allow" if any(s.get("Effect", "Allow") == "Allow" for s in applicable) else None


def service_allowed(statements: Iterable[dict[str, Any]], service: str, action: str, resource: str | None,
                    facts: dict[str, str]) -> bool:
    """Whether the statements let `service` do `action` on `resource`, given the request's `facts`."""
    return decision(statements, service, action, resource, facts) == "Allow"
