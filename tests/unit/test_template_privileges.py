"""Least privilege in workshop/template.yaml, read as YAML: every Secrets Manager grant names the
secret it needs, role actions are the minimum, wildcards only where AWS requires them, trust policies
name one service. That every grant names one of the template's secrets is also a control of the
Template phase (tests/template), over the workshop under test."""

from __future__ import annotations

import re

import pytest

from suite.controls import policy
from suite.controls import template as tc
from tests.support.template_file import props


# --------------------------------------------------------------------------- least privilege


def test_every_secretsmanager_grant_is_on_the_secret_arn_only(template):
    stmts = tc.secret_statements(template)
    owners = {s.logical_id for s in stmts}
    assert owners == {"RotationFunctionRole", "BastionRole", "TaskExecutionRole", "TaskRole", "SecretReadOnlyPolicy",
                      "DemoUserReadPolicy"}
    # that each names one of the template's secrets, none a wildcard, is the Template phase's control
    for s in stmts:
        if s.logical_id == "TaskExecutionRole":  # it also resolves the container user's password
            assert s.resource == [{"Ref": "DBSecret"}, {"Ref": "ContainerUserSecret"}], str(s)
        elif s.logical_id == "RotationFunctionRole":  # it rotates lab B's appuser and lab C's demouser too
            assert s.resource == [{"Ref": "DBSecret"}, {"Ref": "AppUserSecret"}, {"Ref": "DemoUserSecret"}], str(s)
        elif s.statement.get("Sid") == "ReadTheWorkshopAndAppSecretsOnly":  # lab B's app runs on the bastion
            assert s.logical_id == "BastionRole", str(s)
            assert s.resource == [{"Ref": "DBSecret"}, {"Ref": "AppUserSecret"}], str(s)
        elif s.logical_id == "DemoUserReadPolicy":  # lab C's application reads its own secret only
            assert s.resource == {"Ref": "DemoUserSecret"}, str(s)
        elif s.statement.get("Sid") == "SshIntoTheTasksAsTheGuideDoes":
            # the bastion's ssh into a task asks for its password
            assert s.logical_id == "BastionRole" and s.actions == ["secretsmanager:GetSecretValue"], str(s)
            assert s.resource == {"Ref": "ContainerUserSecret"}, str(s)
        else:
            assert s.resource == {"Ref": "DBSecret"}, str(s)


def test_role_actions_are_minimal(template):
    sm = lambda lid: {a for a in tc.granted_actions(template, lid) if a.startswith("secretsmanager:")}  # noqa: E731
    assert sm("RotationFunctionRole") == {
        "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
    }
    assert sm("BastionRole") == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert sm("TaskRole") == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    assert sm("TaskExecutionRole") == {"secretsmanager:GetSecretValue"}
    # the rotation function makes its own passwords
    assert "secretsmanager:GetRandomPassword" not in tc.granted_actions(template, "RotationFunctionRole")
    # no wildcard action in any Allow statement, no kms/ecs grants at all
    for s in tc.policy_statements(template):
        if s.effect == "Allow":
            for a in s.actions:
                assert "*" not in a, f"{s}: {a}"
                assert not a.startswith(("kms:", "ecs:", "iam:")), f"{s}: {a}"


def test_no_aws_managed_policies(template):
    """Roles use inline policies; the customer-managed policies are lab C's scoped readers."""
    assert tc.managed_policy_arns(template) == []
    assert set(tc.resources(template, "AWS::IAM::ManagedPolicy")) == {"SecretReadOnlyPolicy", "DemoUserReadPolicy"}
    for reader in ("SecretReadOnlyPolicy", "DemoUserReadPolicy"):
        assert set(tc.granted_actions(template, reader)) == {"secretsmanager:GetSecretValue"}


def test_wildcard_resources_only_where_aws_requires_them(template):
    """`*` resources are allowed only for actions that have no resource-level permissions."""
    allowed_star = {
        "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses", "ecr:GetAuthorizationToken",
        "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel", "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage", "ec2messages:FailMessage", "ec2messages:GetEndpoint",
        "ec2messages:GetMessages", "ec2messages:SendReply",
    }
    for s in tc.policy_statements(template):
        if s.effect == "Allow" and ".AssumeRolePolicyDocument" not in s.path and tc.has_wildcard_resource(s):
            if s.logical_id == "TrailBucketPolicy":  # object-key wildcard under AWSLogs/<account>/
                assert s.actions == ["s3:PutObject"] and "Condition" in s.statement
                continue
            starred = [x for x in tc.string_leaves(s.resource) if "*" in x]
            if all(a.startswith("logs:") for a in s.actions) and all(
                re.search(r":log-group:\$\{(RotationFunctionLogGroup|TaskLogGroup)\}:\*$", x) for x in starred
            ):  # the streams of one of the stack's own log groups
                continue
            assert set(s.actions) <= allowed_star, str(s)


def test_trust_policies(template):
    expected = {
        "RotationFunctionRole": "lambda.amazonaws.com",
        "BastionRole": "ec2.amazonaws.com",
        "TaskExecutionRole": "ecs-tasks.amazonaws.com",
        "TaskRole": "ecs-tasks.amazonaws.com",
    }
    assert set(tc.resources(template, "AWS::IAM::Role")) == set(expected) | {"DemoUserRole"}
    # Lab C's application role: assumed by a principal of this account (the lab's user), no one else.
    (stmt,) = props(template, "DemoUserRole")["AssumeRolePolicyDocument"]["Statement"]
    assert stmt == {"Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}}
    assert "Policies" not in props(template, "DemoUserRole")  # its one policy is DemoUserReadPolicy
    for lid, service in expected.items():
        (stmt,) = props(template, lid)["AssumeRolePolicyDocument"]["Statement"]
        assert stmt == {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}


@pytest.mark.parametrize(
    "statement, wildcard",
    [
        ({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": {"Ref": "DBSecret"}}, False),
        ({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["s3:GetObject", "secretsmanager:*"],
          "Resource": {"Fn::Sub": "arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:smdemo-*"}}, True),
        ({"Effect": "Allow", "Action": "*", "Resource": ["arn:aws:s3:::b", "*"]}, True),
        ({"Effect": "Allow", "Action": "secrets*:Get*",
          "Resource": "arn:aws:secretsmanager:us-east-1:1:secret:smdemo-??????"}, True),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": {"Ref": "DBSecret"}}, False),
        ({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "NotResource": {"Ref": "Other"}}, True),
        ({"Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}, False),
    ],
)
def test_checkers_catch_bad_statements(statement, wildcard):
    t = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "x"}}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}]}}}}
    assert bool(tc.statements_granting_secretsmanager_on_wildcard(t)) is wildcard
    grants = statement["Effect"] == "Allow" and (
        "NotAction" in statement or any(a.startswith(("secrets", "*")) for a in policy.as_list(statement["Action"]))
    )
    assert bool(tc.secret_statements(t)) is grants
    scoped = grants and statement.get("Resource") == {"Ref": "DBSecret"}
    assert bool(tc.secret_statements_not_scoped_to(t)) is (grants and not scoped)
