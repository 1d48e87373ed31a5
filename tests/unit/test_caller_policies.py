"""The IAM policies a caller of the suite needs (iam/): valid, within AWS's size limit, scoped, and covering what
CloudFormation does as the caller when it creates and deletes the workshop's stack.

AWS: a managed policy holds at most 6,144 characters, white space not counted (IAM user guide, "IAM and AWS STS
quotas"); CloudFormation creates a stack's resources with the caller's permissions unless a service role is given
("AWS CloudFormation service role"); each resource type's schema lists the permissions its create and delete
handlers need (`handlers.create.permissions`; cfn-lint ships the schemas). The offline self-tests
(tests/selftest/test_caller_policies.py) run the suite as a user holding only these policies.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from moto import mock_aws
from moto.iam.access_control import IAMPolicy, PermissionResult
from parliament import analyze_policy_string

ROOT = Path(__file__).resolve().parents[2]
FULL_RUN = ROOT / "iam" / "caller-full-run.json"
READ_ONLY = ROOT / "iam" / "caller-read-only.json"
POLICIES = [FULL_RUN, READ_ONLY]
MANAGED_POLICY_LIMIT = 6144

# Permissions a type's handlers list for properties the workshop's template does not set (replication, read
# replicas and restores, data protection and index policies, bucket analytics/inventory/..., a function's layers,
# code signing, reserved concurrency, runtime management, recursion and scaling settings): not granted.
NOT_FOR_THIS_TEMPLATE = re.compile(
    r"secretsmanager:(ReplicateSecretToRegions|RemoveRegionsFromReplication)|"
    r"rds:(AddRoleToDBInstance|CreateDBInstanceReadReplica|CreateDBSnapshot|RestoreDBInstance.*|"
    r"StartDBInstanceAutomatedBackupsReplication)|"
    r"logs:(CreateLogDelivery|.*DataProtectionPolicy|.*IndexPolic.*|DescribeResourcePolicies|PutResourcePolicy|"
    r"PutBearerTokenAuthentication)|"
    r"s3:(CreateBucketMetadataTableConfiguration|Put(Accelerate|Analytics|IntelligentTiering|Inventory|Metrics|"
    r"ObjectLock|Replication)Configuration|PutObjectAcl)|"
    r"lambda:(AssociateRuntimeAlias|PassCapacityProvider)|"
    r"cloudtrail:(PutEventConfiguration|PutInsightSelectors)|"
    r"iam:(Attach|Detach)GroupPolicy|"  # a managed policy's Groups
    r"lambda:(PutFunctionConcurrency|GetCodeSigningConfig|GetLayerVersion|GetRuntimeManagementConfig|"
    r"Put(RuntimeManagement|FunctionRecursion|FunctionScaling)Config)|"
    r"rds:Describe(DBClusters|DBClusterSnapshots|DBSnapshots|DBInstanceAutomatedBackups)|"  # clusters, restores
    r"ec2:MonitorInstances")  # detailed monitoring

# parliament 1.6.4 findings that are its data's gaps, not the policies': kms:ResourceAliases (AWS KMS developer
# guide, "kms:ResourceAliases") is newer than its table, and SendCommand's and StartSession's instance and document
# resources sit in two statements so that the tag condition applies to the instance only (a document carries no tags).
ACCEPTED_FINDINGS = {("UNKNOWN_CONDITION_FOR_ACTION", "AwsManagedKeysOnly"),
                     ("RESOURCE_MISMATCH", "OnTheWorkshopsInstancesOnly"),
                     ("RESOURCE_MISMATCH", "TheirDocumentsOnly")}


def statements(path: Path) -> list[dict]:
    return json.loads(path.read_text())["Statement"]


@pytest.mark.parametrize("path", POLICIES, ids=lambda path: path.name)
def test_policy_fits_a_managed_policy(path):
    assert len(re.sub(r"\s", "", path.read_text())) <= MANAGED_POLICY_LIMIT


@pytest.mark.parametrize("path", POLICIES, ids=lambda path: path.name)
def test_parliament_finds_nothing_but_documented_wildcards(path):
    """A statement with Resource "*" is named Unscoped... and says why in its Sid (AWS offers no resource-level
    permission for its actions, or the resources' ids exist only once CloudFormation created them)."""
    found = []
    for statement in statements(path):
        document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        for finding in analyze_policy_string(document).findings:
            if finding.issue == "RESOURCE_STAR" and statement["Sid"].startswith("Unscoped"):
                continue
            if (finding.issue, statement["Sid"]) not in ACCEPTED_FINDINGS:
                found.append((statement["Sid"], finding.issue, finding.detail))
    assert not found
    for statement in statements(path):
        assert (statement["Resource"] == "*") == statement["Sid"].startswith("Unscoped"), statement["Sid"]


@pytest.mark.parametrize("path", POLICIES, ids=lambda path: path.name)
def test_the_local_aws_accepts_the_policy(path):
    """CreatePolicy parses and validates the document as IAM does (MalformedPolicyDocument otherwise)."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        created = iam.create_policy(PolicyName=path.stem, PolicyDocument=path.read_text())["Policy"]
        assert created["DefaultVersionId"] == "v1"


def allowed_on_some_resource(path: Path, action: str) -> bool:
    loose = [{**{key: value for key, value in statement.items() if key not in ("Resource", "Condition")},
              "Resource": "*"} for statement in statements(path)]
    policy = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": loose}))
    return policy.is_action_permitted(action) == PermissionResult.PERMITTED


def holds(condition: Any, template: dict) -> bool:
    """A template condition, with the parameters the suite leaves at their defaults (it sets none a condition reads)."""
    if isinstance(condition, dict) and "Fn::Not" in condition:
        return not holds(condition["Fn::Not"][0], template)
    if isinstance(condition, dict) and "Fn::Equals" in condition:
        return len({json.dumps(value(side, template)) for side in condition["Fn::Equals"]}) == 1
    if isinstance(condition, dict) and "Condition" in condition:
        return holds(template["Conditions"][condition["Condition"]], template)
    raise AssertionError(f"a condition this test cannot evaluate yet: {condition}")


def value(item: Any, template: dict) -> Any:
    if isinstance(item, dict) and "Ref" in item:
        return template["Parameters"][item["Ref"]]["Default"]
    return item


def test_full_run_covers_what_cloudformation_does_as_the_caller():
    """Every resource the suite's deployment creates (one whose Condition is false there, as the bastion's key pair
    without BastionPublicKey, is not created)."""
    template = yaml.safe_load((ROOT / "workshop" / "template.yaml").read_text())
    types = sorted({resource["Type"] for resource in template["Resources"].values()
                    if "Condition" not in resource or holds(template["Conditions"][resource["Condition"]], template)})
    missing = []
    for resource_type in types:
        service = resource_type.split("::")[1].lower()
        handlers = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema["handlers"]
        for handler in ("create", "delete"):
            for listed in handlers[handler]["permissions"]:
                prefix, name = listed.split(":", 1)
                permission = f"{prefix.lower()}:{name}"  # IAM's prefixes are case-insensitive (CloudTrail:...)
                # Only the type's own service: other services' entries are for properties this template leaves out.
                if prefix.lower() != service or NOT_FOR_THIS_TEMPLATE.fullmatch(permission):
                    continue
                if not allowed_on_some_resource(FULL_RUN, permission):
                    missing.append(f"{resource_type} {handler}: {permission}")
    assert not missing


def test_full_run_passes_the_stacks_roles_to_their_services_only():
    [passing] = [statement for statement in statements(FULL_RUN) if "iam:PassRole" in statement["Action"]]
    assert passing["Resource"] == "arn:aws:iam::*:role/smdemo*"
    assert set(passing["Condition"]["StringEquals"]["iam:PassedToService"]) == {
        "lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"}


def test_read_only_grants_nothing_that_changes_the_account():
    """Only reads, Run Command on the workshop's instances (how an attendee reaches the bastion) and port forwarding
    sessions through them (what an attendee reaches from there), started and ended."""
    reads = re.compile(r"[a-z0-9-]+:(Describe|Get|List|Lookup|BatchGet|FilterLogEvents)\w*\*?")
    changing = [action for statement in statements(READ_ONLY)
                for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
                if not reads.fullmatch(action) and action not in ("ssm:SendCommand", "ssm:StartSession",
                                                                  "ssm:TerminateSession")]
    assert not changing
