"""localaws.ext.cfn_stack_tags: a stack's tags reach every resource it creates.

AWS: CloudFormation user guide, "Resource tag" ("All stack-level tags, including automatically
created tags, are propagated to resources that CloudFormation supports"); Resource Groups
Tagging API, GetResources with TagFilters.
"""
from __future__ import annotations

import json

import pytest

from tests.support.aws_helpers import await_stack, unique
from tests.fidelity.validation import NOT_YET_VALIDATED



@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_tagging_api_finds_every_resource_of_a_stack_by_the_stacks_tag(aws):
    run = unique("run")
    name = unique("fid-tags")
    cfn = aws.client("cloudformation")
    cfn.create_stack(StackName=name, Tags=[{"Key": "smdemo:run-id", "Value": run}], TemplateBody=json.dumps({
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket"},
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"SecretString": "{}"}},
            "Group": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"/fid/{name}"}},
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.93.0.0/16"}},
        }}))
    await_stack(aws, name, "create", timeout=20)

    found = {mapping["ResourceARN"]: {tag["Key"]: tag["Value"] for tag in mapping["Tags"]}
             for mapping in aws.client("resourcegroupstaggingapi").get_resources(
                 TagFilters=[{"Key": "smdemo:run-id", "Values": [run]}])["ResourceTagMappingList"]}
    kinds = {arn.split(":")[2] for arn in found}
    assert {"s3", "secretsmanager", "logs", "ec2"} <= kinds, found
    for arn, tags in found.items():
        if ":cloudformation:" in arn:
            continue  # the stack itself, tagged as created
        assert tags["aws:cloudformation:stack-name"] == name
        assert tags["aws:cloudformation:logical-id"] in {"Bucket", "Secret", "Group", "Vpc"}
    cfn.delete_stack(StackName=name)
