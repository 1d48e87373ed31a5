"""What a stack asks for that the local AWS does not model is said: localaws.ext.cfn_not_modelled.

AWS (CloudFormation user guide, "Resource and property types reference"): CloudFormation gives a
resource every property its template sets (after parameters, conditions and AWS::NoValue resolve),
and the service applies each. moto 5.2.5 drops the ones its models do not read without a word: an
S3 bucket's LifecycleConfiguration, for one, leaves the bucket with no lifecycle configuration. The
local AWS lists each such setting, and each type it does not deploy, once per stack.
"""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from localaws.not_modelled import recorded
from tests.support.aws_helpers import unique

pytestmark = pytest.mark.local_only("reads the local AWS's record of what it does not model, in its state directory")

LIFECYCLE = {"Rules": [{"Id": "expire", "Status": "Enabled", "ExpirationInDays": 7}]}


@pytest.fixture(scope="module")
def stack(local_aws) -> dict:
    cloudformation = local_aws.client("cloudformation")
    name = unique("fid-not-modelled")
    bucket = f"{name}-bucket"
    template = {
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
                "BucketName": bucket,
                "LifecycleConfiguration": LIFECYCLE,
                "Tags": [{"Key": "Project", "Value": "smproj"}],
                "VersioningConfiguration": {"Fn::If": ["Never", {"Status": "Enabled"}, {"Ref": "AWS::NoValue"}]}}},
            "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        },
    }
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cloudformation.get_waiter("stack_create_complete").wait(StackName=name,
                                                            WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    yield {"name": name, "Bucket": bucket}
    cloudformation.delete_stack(StackName=name)


def settings(local_aws, stack_name: str) -> list[str]:
    return [entry["setting"] for entry in recorded(local_aws.state_dir) if entry["stack"] == stack_name]


def test_a_property_the_local_aws_drops_is_listed(local_aws, stack):
    """The bucket has no lifecycle offline: the table must not vouch for it, and the stack's record says so."""
    with pytest.raises(ClientError, match="NoSuchLifecycleConfiguration"):
        local_aws.client("s3").get_bucket_lifecycle_configuration(Bucket=stack["Bucket"])
    assert "AWS::S3::Bucket.LifecycleConfiguration" in settings(local_aws, stack["name"])
    assert "AWS::S3::Bucket.LifecycleConfiguration" in local_aws.not_modelled()


def test_an_honoured_property_and_one_resolved_away_are_not(local_aws, stack):
    tags = local_aws.client("s3").get_bucket_tagging(Bucket=stack["Bucket"])["TagSet"]
    assert {"Key": "Project", "Value": "smproj"} in tags
    listed = settings(local_aws, stack["name"])
    assert "AWS::S3::Bucket.Tags" not in listed
    assert "AWS::S3::Bucket.VersioningConfiguration" not in listed  # AWS::NoValue: not given


def test_a_type_the_local_aws_does_not_deploy_is_listed(local_aws, stack):
    assert "AWS::CloudFormation::WaitConditionHandle (not deployed offline)" in settings(local_aws, stack["name"])


def test_each_setting_is_recorded_once_per_stack(local_aws, stack):
    local_aws.client("cloudformation").describe_stacks(StackName=stack["name"])
    listed = settings(local_aws, stack["name"])
    assert len(listed) == len(set(listed))

