"""localaws.service_roles and the instance metadata service: a role is the service's only when its trust
policy admits the service principal (IAM user guide, "Create a role to delegate permissions to an AWS
service"); EC2's metadata service answers AssumeRoleUnauthorizedAccess for a role it cannot assume
(EC2 user guide, "Troubleshoot IAM roles for Amazon EC2")."""
from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from localaws.hosts.metadata import InstanceMetadata
from localaws.service_roles import ECS_TASKS, service_may_assume

ACCOUNT, REGION = "123456789012", "us-east-1"


def _role(trust: list[dict]) -> str:
    iam = boto3.client("iam", region_name=REGION)
    name = f"role-{abs(hash(json.dumps(trust)))}"
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": trust}))["Role"]["Arn"]


def _allow(service: str | list[str], **condition: dict) -> dict:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return {**statement, "Condition": condition} if condition else statement


TASK = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/cluster/0123456789abcdef"


@pytest.mark.parametrize(("trust", "admitted"), [
    ([_allow("ecs-tasks.amazonaws.com")], True),
    ([_allow("ecs.amazonaws.com")], False),
    ([_allow(["ec2.amazonaws.com", "ecs-tasks.amazonaws.com"])], True),
    ([_allow("ecs-tasks.amazonaws.com"), {**_allow("ecs-tasks.amazonaws.com"), "Effect": "Deny"}], False),
    ([_allow("ecs-tasks.amazonaws.com", ArnLike={"aws:SourceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:*"})], True),
    ([_allow("ecs-tasks.amazonaws.com", StringEquals={"aws:SourceAccount": "210987654321"})], False),
    ([_allow("ecs-tasks.amazonaws.com", StringEquals={"aws:PrincipalTag/team": "x"})], False),
], ids=["service", "another-service", "a-list", "explicit-deny", "source-arn-condition", "other-account",
        "a-key-the-service-does-not-send"])
def test_trust_policy_decides_which_service_may_assume_the_role(trust, admitted):
    with mock_aws():
        role = _role(trust)
        facts = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": TASK}
        assert service_may_assume(ACCOUNT, REGION, role, ECS_TASKS, facts) is admitted


def test_a_role_that_does_not_exist_is_not_assumable():
    with mock_aws():
        assert not service_may_assume(ACCOUNT, REGION, f"arn:aws:iam::{ACCOUNT}:role/nobody", ECS_TASKS)


@pytest.mark.parametrize("trusted", ["ec2.amazonaws.com", "lambda.amazonaws.com"])
def test_instance_metadata_holds_keys_only_of_a_role_ec2_may_assume(trusted):
    with mock_aws():
        role = _role([_allow(trusted)])
        instance = SimpleNamespace(id="i-0123456789abcdef0",
                                   ec2_backend=SimpleNamespace(account_id=ACCOUNT, region_name=REGION))
        metadata = InstanceMetadata(instance, lambda: role)
        try:
            answer = metadata._credentials(role)
        finally:
            metadata.close()
    if trusted == "ec2.amazonaws.com":
        assert answer["Code"] == "Success" and answer["AccessKeyId"].startswith("ASIA")
    else:
        assert "AccessKeyId" not in answer
        assert answer["Code"] == "AssumeRoleUnauthorizedAccess"
        assert answer["Message"].startswith(f"EC2 cannot assume the role {role.rsplit('/', 1)[-1]}.")
