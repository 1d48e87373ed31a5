"""What Describe* answers hold that moto leaves out: a stack's Capabilities, a task definition's
registeredAt/registeredBy/deregisteredAt, a DB instance's endpoint hosted zone, KMS key and
server certificate (localaws.ext.registrations, localaws.ext.rds_answers).

AWS: CloudFormation API reference, Stack (Capabilities); ECS API reference, TaskDefinition
(registeredAt, registeredBy, deregisteredAt); RDS API reference, DBInstance (KmsKeyId,
CertificateDetails) and Endpoint (HostedZoneId).
"""
from __future__ import annotations

import json
import re
import time

import pytest

from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED



@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_stack_keeps_the_capabilities_it_was_created_with(aws):
    cfn = aws.client("cloudformation")
    name = unique("fid-caps")
    cfn.create_stack(StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=json.dumps(
        {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}))
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["Capabilities"] == ["CAPABILITY_IAM"]
    cfn.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_task_definition_says_who_registered_it_and_when(aws):
    ecs = aws.client("ecs")
    before = time.time() - 1
    arn = ecs.register_task_definition(family=unique("fid-reg"), containerDefinitions=[
        {"name": "app", "image": "busybox", "memory": 64}])["taskDefinition"]["taskDefinitionArn"]
    described = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    caller = aws.client("sts").get_caller_identity()["Arn"]
    assert described["registeredBy"] == caller
    assert described["registeredAt"].timestamp() >= before
    gone = ecs.deregister_task_definition(taskDefinition=arn)["taskDefinition"]
    assert gone["status"] == "INACTIVE" and gone["deregisteredAt"] >= described["registeredAt"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_db_instance_has_its_hosted_zone_key_and_certificate(aws):
    rds = aws.client("rds")
    name = unique("fid-db")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro",
                           MasterUsername="admin", MasterUserPassword="Passw0rd-long-enough", AllocatedStorage=20,
                           StorageEncrypted=True)
    instance = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    assert instance["Endpoint"]["HostedZoneId"] == "Z2R2ITUGPM61AM"  # us-east-1's
    assert re.fullmatch(rf"arn:aws:kms:{aws.region}:\d{{12}}:key/[0-9a-f-]{{36}}", instance["KmsKeyId"])
    assert instance["CertificateDetails"]["CAIdentifier"] == instance["CACertificateIdentifier"] == "rds-ca-rsa2048-g1"
    assert instance["CertificateDetails"]["ValidTill"].timestamp() > time.time() + 300 * 86400
    rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
