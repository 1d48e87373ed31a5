"""What an attendee can see of the workshop, read before and after a read-only run: any difference
is a check that changed the account although it was run as one that does not (suite/account_changes.py).

Read with the operator's credentials, nothing written: the stack's status and resources, each
secret's versions and staging labels and rotation settings, the task definitions of the workshop's
family, the database's status, the lab role's policies, the images in the workshop's repository.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

SECRET_OUTPUTS = ("SecretArn", "ContainerUserSecretArn", "AppUserSecretArn", "DemoUserSecretArn")
CHANGED_KEY = pytest.StashKey[str]()  # what a read-only run changed: the verdict names it


def _safely(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except ClientError as error:  # something gone is a difference too, not a crash
        return f"unreadable: {error.response['Error']['Code']}"


def snapshot(client: Callable[[str], Any], stack_name: str, outputs: dict[str, str]) -> dict[str, Any]:
    cloudformation, secrets = client("cloudformation"), client("secretsmanager")
    seen: dict[str, Any] = {}
    seen["stack status"] = _safely(
        lambda: cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"])
    seen["stack resources"] = _safely(lambda: sorted(
        (resource["LogicalResourceId"], resource.get("PhysicalResourceId", ""), resource["ResourceType"],
         resource["ResourceStatus"])
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        for resource in page["StackResourceSummaries"]))
    for output in SECRET_OUTPUTS:
        if output in outputs:
            described = _safely(functools.partial(secrets.describe_secret, SecretId=outputs[output]))
            seen[f"secret {output}"] = described if isinstance(described, str) else {
                "versions and labels": {version: sorted(stages)
                                        for version, stages in described.get("VersionIdsToStages", {}).items()},
                "rotation": (described.get("RotationEnabled"), str(described.get("RotationRules", {}))),
                "deleted": str(described.get("DeletedDate", "")),
            }
    if "TaskDefinitionArn" in outputs:
        ecs = client("ecs")
        family = outputs["TaskDefinitionArn"].rsplit("/", 1)[-1].rsplit(":", 1)[0]
        seen["task definitions"] = _safely(lambda: sorted(
            arn for status in ("ACTIVE", "INACTIVE")
            for page in ecs.get_paginator("list_task_definitions").paginate(familyPrefix=family, status=status)
            for arn in page["taskDefinitionArns"]))
    if "DBInstanceId" in outputs:
        seen["database status"] = _safely(lambda: client("rds").describe_db_instances(
            DBInstanceIdentifier=outputs["DBInstanceId"])["DBInstances"][0]["DBInstanceStatus"])
    if "DemoUserRoleArn" in outputs:
        role = outputs["DemoUserRoleArn"].rsplit("/", 1)[-1]
        seen["lab role's policies"] = _safely(lambda: sorted(
            policy["PolicyArn"]
            for policy in client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"]))
    if "ECRRepositoryName" in outputs:
        seen["repository images"] = _safely(lambda: sorted(
            image.get("imageDigest", "") for image in
            client("ecr").describe_images(repositoryName=outputs["ECRRepositoryName"])["imageDetails"]))
    return seen


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed, one line each, in words (no secret value is in a snapshot)."""
    found = []
    for key in dict.fromkeys([*before, *after]):
        if before.get(key) != after.get(key):
            found.append(f"{key}: before {_shown(before.get(key))}, after {_shown(after.get(key))}")
    return found


def _shown(value: Any, limit: int = 300) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
