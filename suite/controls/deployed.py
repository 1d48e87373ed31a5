"""The security controls a reviewer applies to the deployed workshop (AWS Config / Security Hub).

Each control reads what is deployed, through boto3 only (the same in both modes), and returns
findings: sentences that say what is wrong and where. An empty list means compliant. Findings
never quote a secret value.
- SecretsManager.1 (secretsmanager-rotation-enabled-check): rotation is enabled and scheduled at
  least every `max_days` days (Security Hub's default: 90).
- SecretsManager.2 (secretsmanager-scheduled-rotation-success-check): the rotation happened when
  it was due; a rotation that left AWSPENDING on a version other than AWSCURRENT did not finish.
- SecretsManager.4 (secretsmanager-secret-periodic-rotation): rotated (or created) within 90 days.
- ECS.8 (ecs-no-environment-secrets): no credential in a container's plain `environment`.
- CloudTrail: the trail is logging.
- Least privilege: every IAM policy of the stack that allows a `secretsmanager:` action names the
  secrets it allows; never "*" nor an ARN pattern that covers any secret.
The template-side counterparts are in suite/controls/template.py; these look at the account. The
audit phase runs them as the rules of suite/controls/rules.py (id, title, source, guide step).
"""
from __future__ import annotations

import json
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator

from botocore.exceptions import ClientError

from suite.controls.policy import allowed_actions, named_resources
from suite.controls.template import PASSWORDISH_NAME, PASSWORDISH_VALUE, schedule_days  # noqa: F401 (re-exported)

MAX_ROTATION_DAYS = 90
# ECS.8's default secretKeys; names that look like a credential (PASSWORDISH_NAME) count too.
ECS8_SECRET_NAMES = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ECS_ENGINE_AUTH_DATA"}
MIN_SECRET_LENGTH = 4  # shorter "secrets" would match ordinary words
IAM_PRINCIPALS = {"AWS::IAM::Role": "role", "AWS::IAM::User": "user", "AWS::IAM::Group": "group"}


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def _secret(secretsmanager: Any, secret_id: str) -> dict[str, Any]:
    return secretsmanager.describe_secret(SecretId=secret_id)


# --------------------------------------------------------------------------- Secrets Manager

def rotation_findings(secretsmanager: Any, secret_id: str, max_days: int = MAX_ROTATION_DAYS) -> list[str]:
    """SecretsManager.1: rotation enabled, scheduled at least every `max_days` days."""
    secret = _secret(secretsmanager, secret_id)
    where = f"secret {secret['Name']}"
    if not secret.get("RotationEnabled"):
        return [f"{where}: automatic rotation is not enabled"]
    days = schedule_days(secret.get("RotationRules") or {})
    if days is None:
        return [f"{where}: rotation schedule {secret.get('RotationRules')} is not one whose interval can be "
                f"confirmed to be at most {max_days} days"]
    if days > max_days:
        return [f"{where}: rotation is scheduled every {days:g} days, more than the {max_days} allowed"]
    return []


def last_rotation_findings(secretsmanager: Any, secret_id: str, now: datetime | None = None,
                           require_rotated: bool = False) -> list[str]:
    """SecretsManager.2: the scheduled rotation happened; the last one finished.

    AWS Config's rule is non-compliant once the date a rotation was due passes without one
    (a secret that has not rotated yet is fine until then); `require_rotated` also asks for one
    successful rotation (LastRotatedDate), as a check after rotating does.
    """
    secret = _secret(secretsmanager, secret_id)
    where = f"secret {secret['Name']}"
    if not secret.get("RotationEnabled"):
        return []  # not scheduled: SecretsManager.1 reports it
    findings = []
    stages = secret.get("VersionIdsToStages") or {}
    for version, labels in stages.items():
        if "AWSPENDING" in labels and "AWSCURRENT" not in labels:
            findings.append(f"{where}: the last rotation did not finish: AWSPENDING is on version {version[:8]}, "
                            f"which is not AWSCURRENT")
    moment = _now(now)
    last = secret.get("LastRotatedDate")
    days = schedule_days(secret.get("RotationRules") or {})
    due = secret.get("NextRotationDate") or (last + timedelta(days=days) if last and days else None)
    if due is not None and due < moment and (last is None or last < due):
        findings.append(f"{where}: a rotation was due on {due:%Y-%m-%d %H:%M} UTC and has not happened "
                        f"(last rotated: {f'{last:%Y-%m-%d %H:%M} UTC' if last else 'never'})")
    if require_rotated and last is None:
        findings.append(f"{where}: no rotation has ever succeeded (no LastRotatedDate)")
    return findings


def periodic_rotation_findings(secretsmanager: Any, secret_id: str, max_days: int = MAX_ROTATION_DAYS,
                               now: datetime | None = None) -> list[str]:
    """SecretsManager.4: rotated within `max_days` days (a secret never rotated: created within them)."""
    secret = _secret(secretsmanager, secret_id)
    since = secret.get("LastRotatedDate") or secret.get("CreatedDate")
    if since is None or _now(now) - since <= timedelta(days=max_days):
        return []
    what = "last rotated" if secret.get("LastRotatedDate") else "created and never rotated"
    return [f"secret {secret['Name']}: {what} on {since:%Y-%m-%d}, more than {max_days} days ago"]


# --------------------------------------------------------------------------- ECS.8

def _environment_findings(where: str, name: str, value: str, known: list[str]) -> Iterator[str]:
    if name.upper() in ECS8_SECRET_NAMES or PASSWORDISH_NAME.search(name):
        yield f"{where}: plain environment variable {name} has a credential's name (use `secrets`)"
    if any(secret in value for secret in known):
        yield f"{where}: plain environment variable {name} holds a secret's value (use `secrets`)"
    elif PASSWORDISH_VALUE.search(value):
        yield f"{where}: plain environment variable {name} looks like it holds a password"


def task_definition_findings(ecs: Any, task_definition: str, known_secret_values: Iterable[str] = ()) -> list[str]:
    """ECS.8: no credential in any container's plain `environment` (names, and known secret values)."""
    known = [value for value in known_secret_values if value and len(value) >= MIN_SECRET_LENGTH]
    described = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    label = f"{described['family']}:{described['revision']}"
    findings: list[str] = []
    for container in described.get("containerDefinitions", []):
        where = f"task definition {label}, container {container.get('name')}"
        for variable in container.get("environment", []):
            findings.extend(_environment_findings(where, str(variable.get("name", "")),
                                                  str(variable.get("value", "")), known))
    return findings


# --------------------------------------------------------------------------- CloudTrail

def trail_logging_findings(cloudtrail: Any, trail: str) -> list[str]:
    """The trail exists and is logging (GetTrailStatus IsLogging)."""
    try:
        status = cloudtrail.get_trail_status(Name=trail)
    except ClientError as error:
        if error.response["Error"]["Code"] == "TrailNotFoundException":
            return [f"trail {trail} does not exist"]
        raise
    if not status.get("IsLogging"):
        stopped = status.get("StopLoggingTime")
        return [f"trail {trail} is not logging" + (f" (stopped {stopped:%Y-%m-%d %H:%M} UTC)" if stopped else "")]
    return []


# The event a trail must take for the audit: a read of the secret, a management event.
SECRET_READ = {"eventCategory": "Management", "readOnly": "true", "eventSource": "secretsmanager.amazonaws.com",
               "eventName": "GetSecretValue"}
_FIELD_TESTS = {"Equals": lambda value, wanted: value == wanted, "NotEquals": lambda value, wanted: value != wanted,
                "StartsWith": str.startswith, "NotStartsWith": lambda value, wanted: not value.startswith(wanted),
                "EndsWith": str.endswith, "NotEndsWith": lambda value, wanted: not value.endswith(wanted)}


def _admits(field_selector: dict[str, Any]) -> bool:
    value = SECRET_READ.get(field_selector["Field"], "")
    for operator, wanted in field_selector.items():
        if operator in _FIELD_TESTS:
            passes = [_FIELD_TESTS[operator](value, w) for w in wanted]
            if not (any(passes) if not operator.startswith("Not") else all(passes)):
                return False
    return True


def trail_read_events_findings(cloudtrail: Any, trail: str) -> list[str]:
    """The trail's selectors take Secrets Manager's read-only management events (GetSecretValue),
    checked from GetEventSelectors (basic or advanced selectors)."""
    answer = cloudtrail.get_event_selectors(TrailName=trail)
    advanced = answer.get("AdvancedEventSelectors") or []
    if advanced:
        if any(all(_admits(fs) for fs in selector.get("FieldSelectors", [])) for selector in advanced):
            return []
        return [f"trail {trail}: no advanced event selector takes management read events of Secrets Manager"]
    basic = answer.get("EventSelectors") or []
    for selector in basic:
        if (selector.get("IncludeManagementEvents") and selector.get("ReadWriteType") in ("All", "ReadOnly")
                and SECRET_READ["eventSource"] not in selector.get("ExcludeManagementEventSources", [])):
            return []
    shown = ", ".join(f"ReadWriteType {s.get('ReadWriteType')}, IncludeManagementEvents "
                      f"{s.get('IncludeManagementEvents')}" for s in basic) or "none"
    return [f"trail {trail} does not record management read events of Secrets Manager (selectors: {shown}), "
            "so no GetSecretValue reaches its bucket"]


# --------------------------------------------------------------------------- IAM policies of a stack

def stack_resources(cloudformation: Any, stack_name: str, *types: str) -> list[dict[str, Any]]:
    """The stack's resources (all pages), optionally only of these types."""
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
    return [resource for page in pages for resource in page["StackResourceSummaries"]
            if not types or resource["ResourceType"] in types]


def _document(value: Any) -> dict[str, Any]:
    # boto3 decodes policy documents; a document that arrives as text is URL-encoded JSON.
    if isinstance(value, dict):
        return value
    return json.loads(urllib.parse.unquote(str(value)))


def _principal_policies(iam: Any, kind: str, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, document) of every inline and attached policy of a role, user or group."""
    key = {f"{kind.capitalize()}Name": name}
    inline = getattr(iam, f"list_{kind}_policies")(**key)["PolicyNames"]
    for policy in inline:
        document = getattr(iam, f"get_{kind}_policy")(PolicyName=policy, **key)["PolicyDocument"]
        yield f"{kind} {name}, inline policy {policy}", _document(document)
    for attached in getattr(iam, f"list_attached_{kind}_policies")(**key)["AttachedPolicies"]:
        yield from _managed_policy(iam, attached["PolicyArn"], f"{kind} {name}, attached policy")


def _managed_policy(iam: Any, arn: str, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    yield f"{where} {arn}", _document(document)


SIBLING_SUFFIX = "-sibling"  # a secret named <the workshop secret's name>-sibling shares its prefix


def sibling_secret_name(secret_name: str) -> str:
    return secret_name + SIBLING_SUFFIX


def probe_secrets(cloudformation: Any, stack_name: str, secret_arn: str) -> dict[str, str]:
    """ARN -> what it is: the secrets a policy of the stack must not reach unless it names them:
    every secret of the stack, one whose name shares the workshop secret's name as a prefix, and
    an unrelated one (a pattern that matches it covers any secret)."""
    arn_prefix, name_with_suffix = secret_arn.split(":secret:", 1)
    name = name_with_suffix.rsplit("-", 1)[0]  # Secrets Manager appends -<6 characters>
    probes = {f"{arn_prefix}:secret:{sibling_secret_name(name)}-AbC123":
              f"a secret named {sibling_secret_name(name)} (it shares the workshop secret's name as a prefix)",
              f"{arn_prefix}:secret:zz-unrelated/any-secret-Xy9Z8w": "an unrelated secret"}
    for resource in stack_resources(cloudformation, stack_name, "AWS::SecretsManager::Secret"):
        probes[resource["PhysicalResourceId"]] = f"the stack's secret {resource['LogicalResourceId']}"
    return probes


def policy_document_findings(where: str, document: dict[str, Any], probes: dict[str, str]) -> list[str]:
    """Each probe secret the document allows secretsmanager: actions on without naming its ARN."""
    named = named_resources(document)
    findings = []
    for arn, what in probes.items():
        actions = allowed_actions(document, arn)
        if actions and arn not in named:
            findings.append(f"{where}: allows {', '.join(sorted(actions))} on {what} without naming it; "
                            f"name the secret ARNs instead")
    return findings


def secret_access_findings(cloudformation: Any, iam: Any, stack_name: str, secret_arn: str) -> list[str]:
    """Every IAM policy of the stack (roles, users, groups, managed policies) reaches a secret
    only by naming its ARN: no pattern reaches the stack's other secrets, a secret that shares the
    workshop secret's prefix, or any secret at all."""
    probes = probe_secrets(cloudformation, stack_name, secret_arn)
    findings: list[str] = []
    for resource in stack_resources(cloudformation, stack_name, *IAM_PRINCIPALS, "AWS::IAM::ManagedPolicy"):
        physical = resource.get("PhysicalResourceId")
        if not physical:
            continue
        kind = IAM_PRINCIPALS.get(resource["ResourceType"])
        policies = (_principal_policies(iam, kind, physical) if kind
                    else _managed_policy(iam, physical, "managed policy"))
        for where, document in policies:
            findings.extend(policy_document_findings(f"stack {stack_name}: {where}", document, probes))
    return findings
