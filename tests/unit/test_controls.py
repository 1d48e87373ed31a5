"""suite.controls against the local AWS: each control passes a compliant set-up and names what a broken one breaks."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from suite.controls import deployed as controls
from tests.support.aws_helpers import await_stack, create_function, create_lambda_role, log_messages, unique, wait_for
from tests.support.aws_helpers import ROTATION_HANDLER, cloudtrail_bucket
from tests.support.aws_helpers import rotatable_secret as _rotatable_secret
from tests.support.any_aws import offline_aws



def _statement(action, resource, **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _policies(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _role(*statements: dict) -> dict:
    trust = _policies({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                       "Action": "sts:AssumeRole"})
    return {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": trust,
        "Policies": [{"PolicyName": "inline", "PolicyDocument": _policies(*statements)}]}}


def _stack(aws, resources: dict) -> str:
    cloudformation = aws.client("cloudformation")
    name = unique("controls")
    secret = {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "Name": unique("controls/secret"), "GenerateSecretString": {"PasswordLength": 20}}}
    cloudformation.create_stack(StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=json.dumps(
        {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"Secret": secret, **resources}}))
    await_stack(offline_aws(aws), name, "create", timeout=30)
    return name


SECRET = {"Ref": "Secret"}


def _stack_secret(aws, stack_name: str) -> str:
    resources = controls.stack_resources(aws.client("cloudformation"), stack_name, "AWS::SecretsManager::Secret")
    return next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "Secret")


def test_scoped_secret_policies_pass(local_aws):
    """Allow statements naming the secret's ARN; GetRandomPassword on "*" (it takes no resource);
    other services' "*" are not this control's business."""
    name = _stack(local_aws, {
        "ScopedRole": _role(_statement(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], SECRET),
                            _statement("secretsmanager:GetRandomPassword", "*"),
                            _statement("logs:CreateLogStream", "*")),
        "ScopedPolicy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "PolicyDocument": _policies(_statement("secretsmanager:GetSecretValue", SECRET))}},
    })
    assert controls.secret_access_findings(local_aws.client("cloudformation"), local_aws.client("iam"), name,
                                           _stack_secret(local_aws, name)) == []


def test_secret_policies_on_every_secret_are_findings(local_aws):
    """Resource "*", an ARN pattern that covers any secret, Action "*" and NotResource are each named,
    with the stack, the role or policy and the statement."""
    every_secret = f"arn:aws:secretsmanager:{local_aws.region}:*:secret:*"
    name = _stack(local_aws, {
        "StarRole": _role(_statement("secretsmanager:GetSecretValue", "*", Sid="ReadAll")),
        "AdminRole": _role(_statement("*", "*", Sid="Admin")),
        "NotResourceRole": _role({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                  "NotResource": SECRET, "Sid": "AllButOne"}),
        "PatternPolicy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "PolicyDocument": _policies(_statement("secretsmanager:*", every_secret, Sid="Pattern"))}},
    })
    secret_arn = _stack_secret(local_aws, name)
    findings = controls.secret_access_findings(local_aws.client("cloudformation"), local_aws.client("iam"), name,
                                               secret_arn)
    for principal in ("StarRole", "AdminRole", "NotResourceRole"):
        mine = [finding for finding in findings if f"role {name}-{principal}-" in finding]
        assert any("an unrelated secret" in finding for finding in mine), (principal, findings)
        # NotResource: the one secret it leaves out is the only one it does not reach
        assert any("the stack's secret Secret" in finding for finding in mine) == (principal != "NotResourceRole")
    assert any("managed policy arn:aws:iam::" in finding and "an unrelated secret" in finding for finding in findings)
    assert all(finding.startswith(f"stack {name}: ") for finding in findings)


def test_a_name_prefix_pattern_reaches_the_secrets_sharing_it(local_aws):
    """`...:secret:<name>*` names no secret: it also opens <name>-sibling and any secret named like it;
    `...:secret:<name>-??????` (the six characters Secrets Manager appends) is as narrow as the ARN."""
    name = _stack(local_aws, {"Placeholder": {"Type": "AWS::SecretsManager::Secret", "Properties": {
        "GenerateSecretString": {"PasswordLength": 20}}}})
    secret_arn = _stack_secret(local_aws, name)
    secret_name = secret_arn.split(":secret:", 1)[1].rsplit("-", 1)[0]
    arn_prefix = secret_arn.split(":secret:", 1)[0]
    prefixed = _stack(local_aws, {"Prefix": _role(_statement("secretsmanager:GetSecretValue",
                                                              f"{arn_prefix}:secret:{secret_name}*"))})
    suffixed = _stack(local_aws, {"Suffix": _role(_statement("secretsmanager:GetSecretValue",
                                                              f"{arn_prefix}:secret:{secret_name}-??????"))})
    cloudformation, iam = local_aws.client("cloudformation"), local_aws.client("iam")
    findings = controls.secret_access_findings(cloudformation, iam, prefixed, secret_arn)
    assert any(f"{secret_name}-sibling" in finding for finding in findings), findings
    assert controls.secret_access_findings(cloudformation, iam, suffixed, secret_arn) == []


def test_trail_logging(local_aws):
    """GetTrailStatus IsLogging: true after StartLogging, false after StopLogging; a trail that does
    not exist is a finding too."""
    bucket, trail = cloudtrail_bucket(offline_aws(local_aws), "controls-trail"), unique("controls-trail")
    cloudtrail = local_aws.client("cloudtrail")
    cloudtrail.create_trail(Name=trail, S3BucketName=bucket)
    cloudtrail.start_logging(Name=trail)
    assert controls.trail_logging_findings(cloudtrail, trail) == []
    cloudtrail.stop_logging(Name=trail)
    [stopped] = controls.trail_logging_findings(cloudtrail, trail)
    assert stopped.startswith(f"trail {trail} is not logging")
    cloudtrail.delete_trail(Name=trail)
    assert controls.trail_logging_findings(cloudtrail, trail) == [f"trail {trail} does not exist"]


def _task_definition(aws, *environment: tuple[str, str]) -> str:
    container = {"name": "app", "image": "app:latest", "memory": 512,
                 "environment": [{"name": name, "value": value} for name, value in environment],
                 "secrets": [{"name": "DB_SECRET", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:x"}]}
    return aws.client("ecs").register_task_definition(
        family=unique("controls"), containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]


def test_task_definition_environment(local_aws):
    """ECS.8: credentials go in `secrets`, not `environment`: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    ECS_ENGINE_AUTH_DATA, other credential-like names, and any value holding a known secret value
    are findings; the finding never repeats the value."""
    ecs = local_aws.client("ecs")
    password = f"pw-{unique('x')}"
    clean = _task_definition(local_aws, ("TASKDEF_ENVVAR", "TASKDEF_ENVVAR was set"), ("DB_HOST", "db.internal"))
    assert controls.task_definition_findings(ecs, clean, [password]) == []

    broken = _task_definition(local_aws, ("AWS_SECRET_ACCESS_KEY", "not-a-real-key"), ("DB_PASSWORD", "x"),
                              ("DATABASE_URL", f"mysql://admin:{password}@db.internal/app"))
    findings = controls.task_definition_findings(ecs, broken, [password])
    assert [finding.split("variable ")[1].split()[0] for finding in findings] == [
        "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "DATABASE_URL"]
    assert all(finding.startswith("task definition ") and ", container app: " in finding for finding in findings)
    assert "holds a secret's value" in findings[2] and not [f for f in findings if password in f]


@pytest.mark.parametrize("rules, days", [
    ({"AutomaticallyAfterDays": 30}, 30), ({"ScheduleExpression": "rate(10 days)"}, 10),
    ({"ScheduleExpression": "rate(12 hours)"}, 0.5), ({"ScheduleExpression": "cron(0 8 1 * ? *)"}, 31),
    ({"ScheduleExpression": "cron(0 8 1 1 ? *)"}, None), ({}, None)])
def test_schedule_days(rules, days):
    """RotationRules: AutomaticallyAfterDays, or ScheduleExpression rate(N days|hours) / cron(...)."""
    assert controls.schedule_days(rules) == days


@pytest.fixture(scope="module")
def rotation(local_aws):
    """A role and two rotation functions (one that works, one that fails at setSecret)."""
    role = unique("controls-rotation")
    role_arn = create_lambda_role(offline_aws(local_aws), role)
    good = create_function(offline_aws(local_aws), unique("controls-ok"), ROTATION_HANDLER, role_arn)
    bad = create_function(offline_aws(local_aws), unique("controls-fail"), ROTATION_HANDLER, role_arn,
                          environment={"FAIL_STEP": "setSecret"})
    return {"role": role, "good": good, "bad": bad}


def _rotated(aws, rotation, function: str, days: int, immediately: bool) -> tuple[str, str | None]:
    """A new secret rotated by `function`: its ARN and the rotation's version (None: only tested)."""
    arn = _rotatable_secret(offline_aws(aws), rotation["role"], "initial")
    started = aws.client("secretsmanager").rotate_secret(
        SecretId=arn, RotationLambdaARN=function, RotateImmediately=immediately,
        RotationRules={"AutomaticallyAfterDays": days})
    return arn, started.get("VersionId")


def _finished(aws, arn: str, token: str) -> None:
    """AWSCURRENT on the new version and LastRotatedDate set: the rotation completed."""
    sm = aws.client("secretsmanager")

    def completed() -> bool:
        described = sm.describe_secret(SecretId=arn)
        return bool(described.get("LastRotatedDate")) and "AWSCURRENT" in described["VersionIdsToStages"][token]
    wait_for(completed, timeout=60, what=f"rotation of {arn} to {token}")


def _failed(aws, function_arn: str) -> None:
    name = function_arn.split(":")[-1]
    wait_for(lambda: any("failing at setSecret" in line for line in log_messages(offline_aws(aws), name)),
             timeout=60, what=f"{name} to fail")


def test_rotation_not_enabled_or_too_rare(local_aws, rotation):
    """SecretsManager.1: rotation must be enabled and scheduled at most every 90 days."""
    sm = local_aws.client("secretsmanager")
    plain = sm.create_secret(Name=unique("controls/plain"), SecretString="x")["ARN"]
    [finding] = controls.rotation_findings(sm, plain)
    assert "automatic rotation is not enabled" in finding
    assert controls.last_rotation_findings(sm, plain) == []  # nothing scheduled to fail

    monthly, _ = _rotated(local_aws, rotation, rotation["good"], 30, immediately=False)
    assert controls.rotation_findings(sm, monthly) == []
    yearly, _ = _rotated(local_aws, rotation, rotation["good"], 365, immediately=False)
    [finding] = controls.rotation_findings(sm, yearly)
    assert "every 365 days, more than the 90 allowed" in finding


def test_rotation_succeeded_failed_or_overdue(local_aws, rotation):
    """SecretsManager.2: non-compliant once a due rotation did not happen, or when the last rotation
    left AWSPENDING on a version that is not AWSCURRENT; SecretsManager.4: rotated within 90 days."""
    sm = local_aws.client("secretsmanager")
    later = datetime.now(timezone.utc) + timedelta(days=31)

    scheduled, _ = _rotated(local_aws, rotation, rotation["good"], 30, immediately=False)
    assert controls.last_rotation_findings(sm, scheduled) == []  # not due yet
    [overdue] = controls.last_rotation_findings(sm, scheduled, now=later)
    assert "a rotation was due on" in overdue and "last rotated: never" in overdue
    [never] = controls.last_rotation_findings(sm, scheduled, require_rotated=True)
    assert "no rotation has ever succeeded" in never
    [old] = controls.periodic_rotation_findings(sm, scheduled, now=later + timedelta(days=60))
    assert "created and never rotated" in old

    rotated, token = _rotated(local_aws, rotation, rotation["good"], 30, immediately=True)
    _finished(local_aws, rotated, token)
    assert controls.last_rotation_findings(sm, rotated, require_rotated=True) == []
    assert controls.periodic_rotation_findings(sm, rotated) == []

    failed, _ = _rotated(local_aws, rotation, rotation["bad"], 30, immediately=True)
    _failed(local_aws, rotation["bad"])
    [unfinished] = controls.last_rotation_findings(sm, failed)
    assert "the last rotation did not finish: AWSPENDING is on version" in unfinished
