"""What AWS refuses at create and delete time is refused offline with AWS's error, and what it
accepts deploys: localaws.ext.service_rules, cfn_resource_types, cfn_create_failures (OnFailure)."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, WaiterError

from localaws.ext.service_rules import RULES
from tests.support.aws_helpers import (ROTATION_HANDLER, await_stack, create_function, create_lambda_role,
                                      create_stack, failed_reasons, unique)
from tests.fidelity.validation import NOT_YET_VALIDATED

PASSWORD = "Create-Validation-Passw0rd"


def _deploy(aws, resources: dict, **kwargs) -> tuple[str, dict]:
    """Create a stack of these resources and wait for it to end: its name and description."""
    return create_stack(aws, "fid-create", {"Resources": resources}, Capabilities=["CAPABILITY_IAM"], **kwargs)


def _failed_events(aws, name: str) -> dict[str, str]:
    return failed_reasons(aws, name, ("CREATE_FAILED", "DELETE_FAILED"))


def _resource(aws, name: str, logical_id: str) -> dict:
    resources = aws.client("cloudformation").describe_stack_resources(StackName=name)["StackResources"]
    return next(r for r in resources if r["LogicalResourceId"] == logical_id)


@pytest.fixture(scope="module")
def two_zones(aws) -> dict[str, list[str]]:
    """A VPC with two subnets in us-east-1a and one in us-east-1b."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.71.0.0/16")["Vpc"]["VpcId"]
    subnet = {cidr: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.71.{cidr}.0/24",
                                      AvailabilityZone=f"{aws.region}{zone}")["Subnet"]["SubnetId"]
              for cidr, zone in ((1, "a"), (2, "a"), (3, "b"))}
    return {"one_zone": [subnet[1], subnet[2]], "two_zones": [subnet[1], subnet[3]]}


def _database(subnet_group: dict, **properties) -> dict:
    return {"Type": "AWS::RDS::DBInstance", "Properties": {
        "Engine": "mysql", "EngineVersion": "8.0.46", "DBInstanceClass": "db.t3.micro", "AllocatedStorage": "20",
        "MasterUsername": "admin", "MasterUserPassword": PASSWORD, "BackupRetentionPeriod": 0,
        "DBSubnetGroupName": subnet_group, **properties}}


def _subnet_group(subnets: list[str]) -> dict:
    return {"Type": "AWS::RDS::DBSubnetGroup",
            "Properties": {"DBSubnetGroupDescription": "fidelity", "SubnetIds": subnets}}


# --- 1. what AWS accepts deploys

@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_parameter_and_option_groups_attach_to_the_instance(aws, two_zones):
    """AWS::RDS::DBParameterGroup (Family, Parameters map) and AWS::RDS::OptionGroup: Ref returns each
    group's name, which DBInstance's DBParameterGroupName and OptionGroupName take (CloudFormation
    template reference, AWS::RDS::DBParameterGroup "Return values", AWS::RDS::OptionGroup, and
    AWS::RDS::DBInstance DBParameterGroupName/OptionGroupName); DescribeDBInstances lists them."""
    name, stack = _deploy(aws, {
        "Subnets": _subnet_group(two_zones["two_zones"]),
        "Parameters": {"Type": "AWS::RDS::DBParameterGroup", "Properties": {
            "Family": "mysql8.0", "Description": "workshop", "Parameters": {"max_connections": "100"}}},
        "Options": {"Type": "AWS::RDS::OptionGroup", "Properties": {
            "EngineName": "mysql", "MajorEngineVersion": "8.0", "OptionGroupDescription": "workshop"}},
        "Database": _database({"Ref": "Subnets"}, DBParameterGroupName={"Ref": "Parameters"},
                              OptionGroupName={"Ref": "Options"})})
    assert stack["StackStatus"] == "CREATE_COMPLETE", _failed_events(aws, name)
    rds = aws.client("rds")
    group = _resource(aws, name, "Parameters")["PhysicalResourceId"]
    options = _resource(aws, name, "Options")["PhysicalResourceId"]
    database = rds.describe_db_instances(
        DBInstanceIdentifier=_resource(aws, name, "Database")["PhysicalResourceId"])["DBInstances"][0]
    assert [g["DBParameterGroupName"] for g in database["DBParameterGroups"]] == [group]
    assert [m["OptionGroupName"] for m in database["OptionGroupMemberships"]] == [options]
    parameters = rds.describe_db_parameters(DBParameterGroupName=group)["Parameters"]
    assert {"ParameterName": "max_connections", "ParameterValue": "100"}.items() <= next(
        p for p in parameters if p["ParameterName"] == "max_connections").items()
    aws.client("cloudformation").delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_kms_alias_log_retention_and_unnamed_parameter_deploy(aws):
    """AWS::KMS::Key with AWS::KMS::Alias, AWS::Logs::LogGroup RetentionInDays and an
    AWS::SSM::Parameter without Name (CloudFormation generates one: template reference,
    AWS::SSM::Parameter Name) deploy."""
    name, stack = _deploy(aws, {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*",
             "Resource": "*"}]}}},
        "Alias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": f"alias/{unique('fid')}",
                                                            "TargetKeyId": {"Ref": "Key"}}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
        "Setting": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "workshop"}}})
    assert stack["StackStatus"] == "CREATE_COMPLETE", _failed_events(aws, name)
    group = _resource(aws, name, "Logs")["PhysicalResourceId"]
    [described] = [g for g in aws.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
                   if g["logGroupName"] == group]
    assert described["retentionInDays"] == 7
    key = _resource(aws, name, "Key")["PhysicalResourceId"]
    assert any(a.get("TargetKeyId") == key for a in aws.client("kms").list_aliases()["Aliases"])
    parameter = _resource(aws, name, "Setting")["PhysicalResourceId"]
    assert aws.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"] == "workshop"
    aws.client("cloudformation").delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_type_aws_does_not_know_is_refused_and_one_not_modelled_says_so(aws):
    """CreateStack refuses an unknown type before creating anything (ValidationError "Template format
    error: Unrecognized resource types: [...]", CloudFormation user guide, "Troubleshooting"); a type
    AWS knows but the local AWS cannot create fails its resource with "not supported offline: TYPE",
    never a crash nor a silent skip."""
    cloudformation = aws.client("cloudformation")
    with pytest.raises(ClientError) as refused:
        cloudformation.create_stack(StackName=unique("fid-unknown"), TemplateBody=json.dumps(
            {"Resources": {"X": {"Type": "AWS::Workshop::Nothing", "Properties": {}}}}))
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == \
        "Template format error: Unrecognized resource types: [AWS::Workshop::Nothing]"

    name, stack = _deploy(aws, {"Runner": {"Type": "AWS::AppRunner::Service", "Properties": {}}})
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert 'returned message: "not supported offline: AWS::AppRunner::Service"' in _failed_events(aws, name)["Runner"]

    setting = {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v"}}
    name, stack = _deploy(aws, {"Setting": setting})
    for kind, message in (("AWS::Workshop::Nothing", "Template format error: Unrecognized resource types: "
                                                     "[AWS::Workshop::Nothing]"),
                          ("AWS::AppRunner::Service", "not supported offline: AWS::AppRunner::Service")):
        with pytest.raises(ClientError) as refused:
            cloudformation.update_stack(StackName=name, TemplateBody=json.dumps({"Resources": {
                "Setting": setting, "X": {"Type": kind, "Properties": {}}}}))
        assert refused.value.response["Error"]["Code"] == "ValidationError"
        assert refused.value.response["Error"]["Message"] == message
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    cloudformation.delete_stack(StackName=name)


# --- 2. rotation schedules

@pytest.fixture(scope="module")
def rotation_function(aws) -> str:
    role = unique("create-rotation-role")
    arn = create_lambda_role(aws, role, [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}])
    return create_function(aws, unique("create-rotation"), ROTATION_HANDLER, arn)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_rotate_secret_keeps_a_four_hour_schedule_and_refuses_one_hour(aws, rotation_function):
    """RotateSecret RotationRules ScheduleExpression: DescribeSecret answers it; "You can rotate a secret
    as often as every four hours" (Secrets Manager user guide, "Rotation schedules": rate(1 hour) is
    refused with InvalidParameterException); AutomaticallyAfterDays and ScheduleExpression "but not both"
    (API reference, RotationRulesType: "You cannot specify both rotation frequency and schedule
    expression together.")."""
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=unique("fid/schedule"), SecretString="value")["ARN"]
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=rotation_function,
                     RotationRules={"ScheduleExpression": "rate(4 hours)", "Duration": "2h"}, RotateImmediately=False)
    described = sm.describe_secret(SecretId=arn)
    assert described["RotationEnabled"] is True
    assert described["RotationRules"] == {"ScheduleExpression": "rate(4 hours)", "Duration": "2h"}

    for rules, message in (({"ScheduleExpression": "rate(1 hour)"}, "at least 4 hours"),
                           ({"ScheduleExpression": "rate(10 days)", "AutomaticallyAfterDays": 10},
                            "You cannot specify both rotation frequency and schedule expression together.")):
        with pytest.raises(ClientError) as refused:
            sm.rotate_secret(SecretId=arn, RotationLambdaARN=rotation_function, RotationRules=rules,
                             RotateImmediately=False)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
        assert message in refused.value.response["Error"]["Message"]
    assert sm.describe_secret(SecretId=arn)["RotationRules"] == {"ScheduleExpression": "rate(4 hours)",
                                                                 "Duration": "2h"}


@pytest.mark.parametrize("expression", ["rate(4 hours)", "rate(1 hour)"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_rotation_schedule_resource_takes_the_schedule_expression(aws, rotation_function, expression):
    """AWS::SecretsManager::RotationSchedule RotationRules ScheduleExpression (template reference): the
    secret's RotationRules are the expression; rate(1 hour) fails the resource with Secrets Manager's refusal."""
    name, stack = _deploy(aws, {
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "value"}},
        "Schedule": {"Type": "AWS::SecretsManager::RotationSchedule", "Properties": {
            "SecretId": {"Ref": "Secret"}, "RotationLambdaARN": rotation_function,
            "RotationRules": {"ScheduleExpression": expression}, "RotateImmediatelyOnUpdate": False}}})
    if expression == "rate(4 hours)":
        assert stack["StackStatus"] == "CREATE_COMPLETE", _failed_events(aws, name)
        secret = _resource(aws, name, "Secret")["PhysicalResourceId"]
        assert aws.client("secretsmanager").describe_secret(SecretId=secret)["RotationRules"] == {
            "ScheduleExpression": "rate(4 hours)"}
        aws.client("cloudformation").delete_stack(StackName=name)
    else:
        assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
        assert "at least 4 hours" in _failed_events(aws, name)["Schedule"]


# --- 3. RDS DeletionProtection

@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_protected_database_refuses_deletion_so_its_stack_ends_delete_failed(aws, two_zones):
    """DeleteDBInstance on an instance with DeletionProtection: InvalidParameterCombination "Cannot delete
    protected DB Instance, please disable deletion protection and try again." (RDS user guide, "Deleting a
    DB instance": "You can't delete a DB instance that has deletion protection turned on"); CloudFormation's
    deletion then ends DELETE_FAILED with that reason and the instance stays (user guide, "Stack status codes");
    once turned off, deleting the stack again succeeds."""
    cloudformation, rds = aws.client("cloudformation"), aws.client("rds")
    name, stack = _deploy(aws, {"Subnets": _subnet_group(two_zones["two_zones"]),
                                      "Database": _database({"Ref": "Subnets"}, DeletionProtection=True)})
    assert stack["StackStatus"] == "CREATE_COMPLETE", _failed_events(aws, name)
    identifier = _resource(aws, name, "Database")["PhysicalResourceId"]
    assert rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["DeletionProtection"] is True
    with pytest.raises(ClientError) as refused:
        rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert refused.value.response["Error"]["Message"] == \
        "Cannot delete protected DB Instance, please disable deletion protection and try again."

    cloudformation.delete_stack(StackName=name)
    with pytest.raises(WaiterError):
        await_stack(aws, name, "delete")
    assert cloudformation.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "DELETE_FAILED"
    assert _failed_events(aws, name)["Database"] == \
        "Cannot delete protected DB Instance, please disable deletion protection and try again."
    assert rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]

    rds.modify_db_instance(DBInstanceIdentifier=identifier, DeletionProtection=False, ApplyImmediately=True)
    cloudformation.delete_stack(StackName=name)
    await_stack(aws, name, "delete")


# --- 4. DB subnet groups cover two zones

@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_db_subnet_group_in_one_zone_is_refused(aws, two_zones):
    """CreateDBSubnetGroup with subnets of one Availability Zone: DBSubnetGroupDoesNotCoverEnoughAZs "The DB
    subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage: us-east-1a. Add
    subnets to cover at least 2 AZs." (RDS user guide, "Working with a DB instance in a VPC": a DB subnet
    group has subnets in at least two Availability Zones), through the API and CloudFormation."""
    expected = ("The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
                f"Current AZ coverage: {aws.region}a. Add subnets to cover at least 2 AZs.")
    with pytest.raises(ClientError) as refused:
        aws.client("rds").create_db_subnet_group(DBSubnetGroupName=unique("fid-one-zone"),
                                                       DBSubnetGroupDescription="one zone",
                                                       SubnetIds=two_zones["one_zone"])
    assert refused.value.response["Error"]["Code"] == "DBSubnetGroupDoesNotCoverEnoughAZs"
    assert refused.value.response["Error"]["Message"] == expected

    name, stack = _deploy(aws, {"Subnets": _subnet_group(two_zones["one_zone"])})
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert expected in _failed_events(aws, name)["Subnets"]


# --- 5. Fargate task sizes

FARGATE = {"family": "fid-size", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
           "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/docker/library/busybox:latest"}]}


@pytest.mark.parametrize(("cpu", "memory", "valid"), [("256", "4096", False), ("256", "512", True),
                                                      ("1024", "4096", True), ("512", "5120", False),
                                                      ("1 vCPU", "2 GB", True)])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_fargate_size_must_be_one_of_fargates(aws, cpu, memory, valid):
    """RegisterTaskDefinition for Fargate with a cpu/memory pair Fargate does not offer: ClientException "No
    Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for
    the valid values." (ECS developer guide, "Task CPU and memory" table, as cfn-lint's E3047 data has it);
    through CloudFormation the task definition fails with it."""
    ecs = aws.client("ecs")
    if valid:
        assert ecs.register_task_definition(**FARGATE, cpu=cpu, memory=memory)["taskDefinition"]["cpu"] == cpu
        return
    with pytest.raises(ClientError) as refused:
        ecs.register_task_definition(**FARGATE, cpu=cpu, memory=memory)
    message = (f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
               "See the Amazon ECS documentation for the valid values.")
    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert refused.value.response["Error"]["Message"] == message

    name, stack = _deploy(aws, {"Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
        "RequiresCompatibilities": ["FARGATE"], "NetworkMode": "awsvpc", "Cpu": cpu, "Memory": memory,
        "ContainerDefinitions": [{"Name": "app", "Image": "public.ecr.aws/docker/library/busybox:latest"}]}}})
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert message in _failed_events(aws, name)["Task"]


@pytest.mark.parametrize("missing", ["cpu", "memory"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_fargate_task_definition_needs_task_level_cpu_and_memory(aws, missing):
    """RegisterTaskDefinition for Fargate without task-level cpu (memory): ClientException "Fargate requires
    that 'cpu' be defined at the task level." (ECS developer guide, task definition parameters, "Task size":
    required for Fargate)."""
    sizes = {"cpu": "256", "memory": "512"}
    del sizes[missing]
    with pytest.raises(ClientError) as refused:
        aws.client("ecs").register_task_definition(**FARGATE, **sizes)
    assert refused.value.response["Error"]["Code"] == "ClientException"
    assert refused.value.response["Error"]["Message"] == \
        f"Fargate requires that '{missing}' be defined at the task level."


# --- 6. OnFailure DO_NOTHING / DisableRollback

@pytest.mark.parametrize("keep", [{"OnFailure": "DO_NOTHING"}, {"DisableRollback": True}])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_failed_stack_without_rollback_keeps_what_it_made(aws, two_zones, keep):
    """CreateStack OnFailure DO_NOTHING, or DisableRollback true (CloudFormation API reference, CreateStack):
    no rollback; the stack ends CREATE_FAILED, DescribeStacks answers DisableRollback true, a CREATE_FAILED
    event names the failed resource with its reason, and the resources made stay, CREATE_COMPLETE;
    DescribeStackResources and ListStackResources list the failed one too, CREATE_FAILED with its reason
    (API reference, StackResource: ResourceStatusReason, DriftInformation)."""
    name, stack = _deploy(aws, {
        "Setting": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "kept"}},
        "Subnets": {**_subnet_group(two_zones["one_zone"]), "DependsOn": "Setting"}}, **keep)
    assert stack["StackStatus"] == "CREATE_FAILED"
    assert stack["DisableRollback"] is True
    assert "Current AZ coverage" in _failed_events(aws, name)["Subnets"]
    events = aws.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    assert events[0]["LogicalResourceId"] == name and events[0]["ResourceStatus"] == "CREATE_FAILED"
    assert events[0]["ResourceStatusReason"].startswith("The following resource(s) failed to create: [Subnets].")
    kept = _resource(aws, name, "Setting")
    assert kept["ResourceStatus"] == "CREATE_COMPLETE"
    assert kept["DriftInformation"] == {"StackResourceDriftStatus": "NOT_CHECKED"}
    failed = _resource(aws, name, "Subnets")
    assert failed["ResourceStatus"] == "CREATE_FAILED" and "PhysicalResourceId" not in failed
    assert "Current AZ coverage" in failed["ResourceStatusReason"]
    listed = {r["LogicalResourceId"]: r["ResourceStatus"] for r in aws.client("cloudformation")
              .list_stack_resources(StackName=name)["StackResourceSummaries"]}
    assert listed == {"Setting": "CREATE_COMPLETE", "Subnets": "CREATE_FAILED"}
    assert aws.client("ssm").get_parameter(Name=kept["PhysicalResourceId"])["Parameter"]["Value"] == "kept"
    aws.client("cloudformation").delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_on_failure_delete_deletes_what_it_made_and_the_stack(aws, two_zones):
    """CreateStack OnFailure DELETE (CloudFormation API reference, CreateStack): the resources made are
    deleted and so is the stack: DELETE_COMPLETE, known by its stack id only."""
    cloudformation = aws.client("cloudformation")
    name = unique("fid-create")
    stack_id = cloudformation.create_stack(StackName=name, OnFailure="DELETE", TemplateBody=json.dumps({"Resources": {
        "Setting": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "made"}},
        "Subnets": {**_subnet_group(two_zones["one_zone"]), "DependsOn": "Setting"}}}))["StackId"]
    with pytest.raises(ClientError) as gone:
        cloudformation.describe_stacks(StackName=name)
    assert gone.value.response["Error"]["Message"] == f"Stack with id {name} does not exist"
    [stack] = cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
    assert stack["StackStatus"] == "DELETE_COMPLETE"
    events = cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
    assert any(e["ResourceStatus"] == "DELETE_IN_PROGRESS" and e.get("ResourceStatusReason", "").startswith(
        "The following resource(s) failed to create: [Subnets].") for e in events)
    assert any(e["LogicalResourceId"] == "Setting" and e["ResourceStatus"] == "DELETE_COMPLETE" for e in events)


@pytest.mark.local_only("reads the local AWS's own list of rules: no AWS is asked")
def test_every_rule_names_its_sources():
    """The rules list says, for each rule, where its data and its wording come from."""
    assert RULES and all(rule.data and rule.text and rule.error for rule in RULES)
