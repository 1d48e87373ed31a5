"""localaws.ext.s3_bucket_policy_conditions and cfn_s3_bucket_policy: bucket policies as S3 applies them."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED


def _bucket(aws, *statements: dict) -> str:
    s3 = aws.client("s3")
    bucket = unique("fid-policy")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    return bucket


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_deny_insecure_transport_refuses_only_plain_http(aws):
    """"Deny ... Condition Bool aws:SecureTransport false" (S3 user guide, "Managing access based on HTTP or
    HTTPS requests") refuses plain HTTP only; requests to S3's HTTPS endpoints go through. A statement whose
    principal is a service (cloudtrail.amazonaws.com) does not apply to the account's users."""
    bucket = _bucket(aws,
                     {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                      "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"],
                      "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                     {"Effect": "Deny", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetObject",
                      "Resource": "arn:aws:s3:::*/*"})
    s3 = aws.client("s3")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    s3.put_object(Bucket=bucket, Key="k2", Body=b"w")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_unconditional_deny_to_everyone_refuses(aws):
    """An applicable Deny wins over any Allow: GetObject is refused with 403."""
    bucket = _bucket(aws, {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                                 "Resource": "arn:aws:s3:::*/*"})
    with pytest.raises(ClientError) as refused:
        aws.client("s3").get_object(Bucket=bucket, Key="k")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_bucket_policy_resource_deploys_and_goes_with_its_stack(aws):
    """AWS::S3::BucketPolicy applies PolicyDocument to Bucket (GetBucketPolicy shows it); deleting the stack
    removes it (CloudFormation user guide, AWS::S3::BucketPolicy)."""
    cloudformation, s3 = aws.client("cloudformation"), aws.client("s3")
    bucket = unique("fid-cfn-policy")
    s3.create_bucket(Bucket=bucket)
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                                                        "Resource": f"arn:aws:s3:::{bucket}/locked/*"}]}
    name = unique("fid-policy-stack")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {"Policy": {
        "Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": bucket, "PolicyDocument": document}}}}))
    cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == document
    cloudformation.delete_stack(StackName=name)
    cloudformation.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=bucket)
