"""localaws.ext.cfn_cloudtrail: the AWS::CloudTrail::Trail resource type."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import await_stack, cloudtrail_bucket_policy, unique
from tests.fidelity.validation import NOT_YET_VALIDATED



def _template(logging_trail: str, stopped_trail: str) -> str:
    def trail(name: str, is_logging: bool) -> dict:
        return {"Type": "AWS::CloudTrail::Trail", "DependsOn": "TrailBucketPolicy",
                "Properties": {"TrailName": name, "S3BucketName": {"Ref": "TrailBucket"}, "IsLogging": is_logging,
                               "IncludeGlobalServiceEvents": True, "IsMultiRegionTrail": False}}

    return json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "TrailBucket": {"Type": "AWS::S3::Bucket"},
            "TrailBucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
                "Bucket": {"Ref": "TrailBucket"},
                "PolicyDocument": cloudtrail_bucket_policy({"Fn::GetAtt": ["TrailBucket", "Arn"]})}},
            "LoggingTrail": trail(logging_trail, True),
            "StoppedTrail": trail(stopped_trail, False),
        },
        "Outputs": {
            "LoggingTrailName": {"Value": {"Ref": "LoggingTrail"}},
            "LoggingTrailArn": {"Value": {"Fn::GetAtt": ["LoggingTrail", "Arn"]}},
            "StoppedTrailName": {"Value": {"Ref": "StoppedTrail"}},
        },
    })


@pytest.fixture(scope="module")
def stack(aws):
    cfn = aws.client("cloudformation")
    name = unique("trail-stack")
    trails = {"logging": unique("trail-on"), "stopped": unique("trail-off")}
    cfn.create_stack(StackName=name, TemplateBody=_template(trails["logging"], trails["stopped"]))
    await_stack(aws, name, "create", timeout=30)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"]}
    return {"name": name, "trails": trails, "outputs": outputs}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_is_logging_property_decides_the_trail_status(aws, stack):
    """AWS::CloudTrail::Trail IsLogging (required): "Whether the CloudTrail trail is currently logging
    Amazon API calls"; GetTrailStatus IsLogging reports it."""
    cloudtrail = aws.client("cloudtrail")
    assert cloudtrail.get_trail_status(Name=stack["trails"]["logging"])["IsLogging"] is True
    assert cloudtrail.get_trail_status(Name=stack["trails"]["stopped"])["IsLogging"] is False


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_ref_returns_the_name_and_getatt_arn_the_trail_arn(aws, stack):
    """Return values: "When you pass the logical ID of this resource to the intrinsic Ref function, Ref
    returns the resource name"; "Fn::GetAtt Arn: The Amazon Resource Name (ARN) of the trail"."""
    name = stack["trails"]["logging"]
    assert stack["outputs"]["LoggingTrailName"] == name
    assert stack["outputs"]["StoppedTrailName"] == stack["trails"]["stopped"]
    arn = stack["outputs"]["LoggingTrailArn"]
    assert arn == f"arn:aws:cloudtrail:{aws.region}:{aws.account_id}:trail/{name}"
    assert aws.client("cloudtrail").get_trail(Name=name)["Trail"]["TrailARN"] == arn
    resources = aws.client("cloudformation").describe_stack_resources(StackName=stack["name"])["StackResources"]
    trail_ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources
                 if r["ResourceType"] == "AWS::CloudTrail::Trail"}
    assert trail_ids == {"LoggingTrail": name, "StoppedTrail": stack["trails"]["stopped"]}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_deleting_the_stack_deletes_the_trails(aws, stack):
    """Deleting a stack deletes its resources: the trail no longer exists (GetTrailStatus:
    TrailNotFoundException)."""
    cfn = aws.client("cloudformation")
    cfn.delete_stack(StackName=stack["name"])
    await_stack(aws, stack["name"], "delete", timeout=30)
    cloudtrail = aws.client("cloudtrail")
    for name in stack["trails"].values():
        with pytest.raises(ClientError) as missing:
            cloudtrail.get_trail_status(Name=name)
        assert missing.value.response["Error"]["Code"] == "TrailNotFoundException"
        assert name not in [trail["Name"] for trail in cloudtrail.describe_trails()["trailList"]]


@pytest.mark.parametrize("policy", ["none", "other-trail"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_trail_refused_without_a_bucket_policy_for_it(aws, policy):
    """CreateTrail: InsufficientS3BucketPolicyException "Incorrect S3 bucket policy is detected for
    bucket" when the bucket policy does not let cloudtrail.amazonaws.com GetBucketAcl and PutObject under
    AWSLogs/<account>/, its aws:SourceArn condition included (CloudTrail user guide, "Amazon S3 bucket
    policy for CloudTrail"); StartLogging checks again once the policy is gone."""
    s3, cloudtrail = aws.client("s3"), aws.client("cloudtrail")
    bucket = unique("ct-policy")
    s3.create_bucket(Bucket=bucket)
    if policy == "other-trail":
        document = cloudtrail_bucket_policy(f"arn:aws:s3:::{bucket}", aws.account_id)
        for statement in document["Statement"]:
            statement["Condition"] = {"StringEquals": {
                "aws:SourceArn": f"arn:aws:cloudtrail:{aws.region}:{aws.account_id}:trail/someone-elses"}}
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
    with pytest.raises(ClientError) as refused:
        cloudtrail.create_trail(Name=unique("ct-refused"), S3BucketName=bucket)
    assert refused.value.response["Error"]["Code"] == "InsufficientS3BucketPolicyException"
    assert refused.value.response["Error"]["Message"] == f"Incorrect S3 bucket policy is detected for bucket: {bucket}"

    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(cloudtrail_bucket_policy(f"arn:aws:s3:::{bucket}",
                                                                                   aws.account_id)))
    name = unique("ct-accepted")
    cloudtrail.create_trail(Name=name, S3BucketName=bucket)
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as stopped:
        cloudtrail.start_logging(Name=name)
    assert stopped.value.response["Error"]["Code"] == "InsufficientS3BucketPolicyException"
    cloudtrail.delete_trail(Name=name)
