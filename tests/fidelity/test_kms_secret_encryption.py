"""localaws.ext.kms_secret_encryption: a secret encrypted with a customer managed KMS key is read and written
only by callers the key lets use it, as AWS decides it; AWS managed keys work as before."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from suite.credentials import Credentials
from tests.support.aws_helpers import iam_user, policy_document, unique
from tests.fidelity.validation import NOT_YET_VALIDATED


def _root(aws) -> str:
    return f"arn:aws:iam::{aws.account_id}:root"


def _delegate_to_iam(aws) -> dict:
    return {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": _root(aws)},
            "Action": "kms:*", "Resource": "*"}


def _admin_encrypts(aws) -> dict:
    """The caller (who creates the test secrets) may encrypt with a key whose policy does not delegate to IAM."""
    return {"Effect": "Allow", "Principal": {"AWS": aws.caller_principal}, "Action": "kms:GenerateDataKey",
            "Resource": "*"}

KMS_DENIED = {"Code": "AccessDeniedException", "Message": "Access to KMS is not allowed"}
READ = {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
        "Resource": "*"}


def _key(aws, *statements: dict) -> str:
    """A customer managed key with this key policy; its ARN."""
    return aws.client("kms").create_key(Policy=policy_document(*statements),
                                        Description="fidelity")["KeyMetadata"]["Arn"]


def _secret(aws, key: str | None, value: str = "the-value") -> str:
    kwargs = {"KmsKeyId": key} if key else {}
    return aws.client("secretsmanager").create_secret(Name=unique("kms"), SecretString=value, **kwargs)["ARN"]


def _role(aws, *statements: dict) -> Credentials:
    """A role (trusting the account) whose only policy is these statements, assumed by the administrator."""
    iam = aws.client("iam")
    name = unique("kms-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=policy_document(
        {"Effect": "Allow", "Principal": {"AWS": _root(aws)}, "Action": "sts:AssumeRole"}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=policy_document(*statements))
    issued = aws.client("sts").assume_role(RoleArn=arn, RoleSessionName="fidelity")["Credentials"]
    return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])


def _refusal(call, **kwargs) -> dict:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    error = refused.value.response["Error"]
    return {"Code": error["Code"], "Message": error["Message"]}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_key_delegating_to_iam_lets_a_role_allowed_decrypt_read(aws):
    """Secrets Manager user guide, "Secret encryption and decryption" > "Permissions for the KMS key": to
    read a secret encrypted with a customer managed key, the caller needs kms:Decrypt on it, "in an IAM
    policy or key policy"; the key policy's statement naming the account root ("Default key policy":
    "Allows access to the AWS account and enables IAM policies") delegates to IAM. So a role whose IAM
    policy allows kms:Decrypt on the key reads the secret; PutSecretValue needs kms:GenerateDataKey too."""
    key = _key(aws, _delegate_to_iam(aws))
    secret = _secret(aws, key)
    role = _role(aws, READ, {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                   "Resource": key})
    sm = aws.client("secretsmanager", role)
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "the-value"
    sm.put_secret_value(SecretId=secret, SecretString="new-value")
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "new-value"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_without_decrypt_the_read_is_refused_with_awss_error(aws):
    """Without kms:Decrypt on the secret's key, GetSecretValue fails with AccessDeniedException "Access to
    KMS is not allowed" (the answer Secrets Manager gives; e.g. aws-samples/aws-secrets-manager-rotation-
    lambdas#53), even though IAM allows secretsmanager:GetSecretValue. Without kms:GenerateDataKey,
    PutSecretValue and CreateSecret with a value are refused alike (Secrets Manager calls GenerateDataKey
    "when you create a secret with a value or change the secret value"), and a refused CreateSecret makes
    no secret."""
    key = _key(aws, _delegate_to_iam(aws))
    secret = _secret(aws, key)
    role = _role(aws, READ, {"Effect": "Allow", "Action": "secretsmanager:CreateSecret", "Resource": "*"},
                 {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key})
    sm = aws.client("secretsmanager", role)
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "the-value"
    assert _refusal(sm.put_secret_value, SecretId=secret, SecretString="new") == KMS_DENIED
    name = unique("kms-refused")
    assert _refusal(sm.create_secret, Name=name, SecretString="x", KmsKeyId=key) == KMS_DENIED
    listed = aws.client("secretsmanager").list_secrets(Filters=[{"Key": "name", "Values": [name]}])
    assert not listed["SecretList"]

    no_kms = aws.client("secretsmanager", _role(aws, READ))
    assert _refusal(no_kms.get_secret_value, SecretId=secret) == KMS_DENIED


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_key_policy_naming_only_another_principal_refuses_an_administrator(aws):
    """KMS developer guide, "Key policies": "Unless the key policy explicitly allows it, you cannot use IAM
    policies to allow access to a KMS key" — a key policy that names one role and not the account root gives
    IAM policies no say, so even a role allowed "*" on "*" cannot read the secret, while the role the key
    policy names reads and writes it with no KMS permission in its own IAM policy (key policy actions may use
    wildcards: "kms:GenerateDataKey*")."""
    named = _role(aws, READ)
    named_arn = aws.client("sts", named).get_caller_identity()["Arn"]
    role_arn = f"arn:aws:iam::{aws.account_id}:role/{named_arn.split('/')[1]}"
    key = _key(aws, _delegate_to_iam(aws))
    secret = _secret(aws, key)
    # Then the key policy stops delegating: only `named` may use the key.
    key_id = key.split("/")[-1]
    aws.client("kms").put_key_policy(KeyId=key_id, PolicyName="default", Policy=policy_document(
        {"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
         "Resource": "*"}))
    admin = aws.client("secretsmanager", _role(aws, {"Effect": "Allow", "Action": "*", "Resource": "*"}))
    assert _refusal(admin.get_secret_value, SecretId=secret) == KMS_DENIED
    assert _refusal(admin.put_secret_value, SecretId=secret, SecretString="admin's") == KMS_DENIED
    reader = aws.client("secretsmanager", named)
    assert reader.get_secret_value(SecretId=secret)["SecretString"] == "the-value"
    reader.put_secret_value(SecretId=secret, SecretString="named")  # "kms:GenerateDataKey*" covers GenerateDataKey
    assert reader.get_secret_value(SecretId=secret)["SecretString"] == "named"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_via_service_and_encryption_context_conditions_are_honoured(aws):
    """"AWS KMS condition keys": kms:ViaService "limits use of a KMS key to requests from specified AWS
    services" — Secrets Manager calls KMS as secretsmanager.<region>.amazonaws.com; kms:EncryptionContext:
    SecretARN is the ARN of the secret ("Secrets Manager encryption context"). A key policy allowing Decrypt
    only via another service, or only for another secret's ARN, does not allow this read; an explicit Deny
    in the key policy wins over an IAM Allow."""
    user_arn, user = iam_user(aws, READ, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"})
    via = {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "kms:Decrypt", "Resource": "*"}
    sm = aws.client("secretsmanager", user)
    right = _secret(aws, _key(aws, _admin_encrypts(aws), {**via, "Condition": {"StringEquals": {
        "kms:ViaService": f"secretsmanager.{aws.region}.amazonaws.com"}}}))
    assert sm.get_secret_value(SecretId=right)["SecretString"] == "the-value"
    wrong = _secret(aws, _key(aws, _admin_encrypts(aws), {**via, "Condition": {"StringEquals": {
        "kms:ViaService": f"s3.{aws.region}.amazonaws.com"}}}))
    assert _refusal(sm.get_secret_value, SecretId=wrong) == KMS_DENIED
    other_secret = _secret(aws, _key(aws, _admin_encrypts(aws), {**via, "Condition": {"StringLike": {
        "kms:EncryptionContext:SecretARN": f"arn:aws:secretsmanager:*:{aws.account_id}:secret:someone-else-*"}}}))
    assert _refusal(sm.get_secret_value, SecretId=other_secret) == KMS_DENIED
    denied = _secret(aws, _key(aws, _delegate_to_iam(aws), {
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": aws.account_id}}}))
    assert _refusal(sm.get_secret_value, SecretId=denied) == KMS_DENIED


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_identity_policy_conditions_on_kms_keys_are_honoured(aws):
    """The IAM side of a delegating key policy is evaluated with the same request context: an IAM Allow of
    kms:Decrypt conditioned on kms:ViaService = Secrets Manager ("AWS KMS condition keys", kms:ViaService)
    allows the read; one conditioned on another service does not."""
    key = _key(aws, _delegate_to_iam(aws))
    secret = _secret(aws, key)
    allowed = _role(aws, READ, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key, "Condition": {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{aws.region}.amazonaws.com"}}})
    assert aws.client("secretsmanager", allowed).get_secret_value(SecretId=secret)["SecretString"] == "the-value"
    elsewhere = _role(aws, READ, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key, "Condition": {
        "StringEquals": {"kms:ViaService": f"rds.{aws.region}.amazonaws.com"}}})
    assert _refusal(aws.client("secretsmanager", elsewhere).get_secret_value, SecretId=secret) == KMS_DENIED


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_aws_managed_key_works_for_any_allowed_caller(aws):
    """"Secret encryption and decryption" > "Key policy of the AWS managed key (aws/secretsmanager)": it
    lets every principal of the account use it through Secrets Manager, so a secret without KmsKeyId (or
    with alias/aws/secretsmanager) is read by anyone IAM lets call GetSecretValue, with no KMS permission."""
    reader = aws.client("secretsmanager", _role(aws, READ))
    for key in (None, "alias/aws/secretsmanager"):
        secret = _secret(aws, key)
        assert reader.get_secret_value(SecretId=secret)["SecretString"] == "the-value"
        reader.put_secret_value(SecretId=secret, SecretString="changed")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_cloudformation_key_alias_and_secret_using_it(aws):
    """CloudFormation resource reference: AWS::KMS::Key (KeyPolicy, Tags, EnableKeyRotation, Ref returns the
    key id, GetAtt Arn),
    AWS::KMS::Alias (AliasName, TargetKeyId) and AWS::SecretsManager::Secret's KmsKeyId ("the ARN, key ID,
    or alias of the KMS key"): a stack with a key, its alias and secrets naming it by ARN and by alias
    deploys, GetKeyPolicy answers the template's policy, and the key's policy governs both secrets."""
    alias = f"alias/{unique('fidelity')}"
    template = {"Resources": {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Description": "fidelity", "EnableKeyRotation": True,
                                                         "Tags": [{"Key": "Project", "Value": "smproj"}],
                                                         "KeyPolicy": {"Version": "2012-10-17",
                                                                       "Statement": [_delegate_to_iam(aws)]}}},
        "KeyAlias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": "Key"}}},
        "ByArn": {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "Name": unique("cfn-kms-arn"), "SecretString": "by-arn", "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
        "ByAlias": {"Type": "AWS::SecretsManager::Secret", "DependsOn": "KeyAlias", "Properties": {
            "Name": unique("cfn-kms-alias"), "SecretString": "by-alias", "KmsKeyId": alias}},
    }, "Outputs": {"KeyId": {"Value": {"Ref": "Key"}}, "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}},
                   "ByArn": {"Value": {"Ref": "ByArn"}}, "ByAlias": {"Value": {"Ref": "ByAlias"}}}}
    cfn = aws.client("cloudformation")
    name = unique("fidelity-kms")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    try:
        (stack,) = cfn.describe_stacks(StackName=name)["Stacks"]
        outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
        kms = aws.client("kms")
        assert json.loads(kms.get_key_policy(KeyId=outputs["KeyId"], PolicyName="default")["Policy"])["Statement"] == [
            _delegate_to_iam(aws)]
        assert kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"] == outputs["KeyArn"]
        assert {"TagKey": "Project", "TagValue": "smproj"} in kms.list_resource_tags(KeyId=outputs["KeyId"])["Tags"]
        assert kms.get_key_rotation_status(KeyId=outputs["KeyId"])["KeyRotationEnabled"] is True
        without = aws.client("secretsmanager", _role(aws, READ))
        allowed = aws.client("secretsmanager", _role(aws, READ, {
            "Effect": "Allow", "Action": "kms:Decrypt", "Resource": outputs["KeyArn"]}))
        for secret, value in ((outputs["ByArn"], "by-arn"), (outputs["ByAlias"], "by-alias")):
            assert allowed.get_secret_value(SecretId=secret)["SecretString"] == value
            assert _refusal(without.get_secret_value, SecretId=secret) == KMS_DENIED
    finally:
        cfn.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_cloudformation_secret_with_a_key_the_deployer_may_not_use_fails_the_stack(aws):
    """CloudFormation creates AWS::SecretsManager::Secret with CreateSecret as the stack's caller, so a
    KmsKeyId whose key policy neither names the caller nor delegates to IAM fails the resource with Secrets
    Manager's "Access to KMS is not allowed" (reported e.g. in aws/aws-cdk#7677: "CREATE_FAILED |
    AWS::SecretsManager::Secret ... Access to KMS is not allowed (Service: AWSSecretsManager; Status Code:
    400; Error Code: AccessDeniedException ...)"), and the stack rolls back, leaving no secret."""
    secret_name = unique("cfn-kms-refused")
    someone = f"arn:aws:iam::{aws.account_id}:role/someone-else"
    template = {"Resources": {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": someone}, "Action": "kms:*", "Resource": "*"}]}}},
        "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {
            "Name": secret_name, "SecretString": "x", "KmsKeyId": {"Ref": "Key"}}},
    }}
    cfn = aws.client("cloudformation")
    name = unique("fidelity-kms-refused")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    try:
        with pytest.raises(Exception):
            cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
        failed = [event for event in cfn.describe_stack_events(StackName=name)["StackEvents"]
                  if event.get("ResourceStatus") == "CREATE_FAILED"]
        assert [event["LogicalResourceId"] for event in failed] == ["Secret"]
        assert "Access to KMS is not allowed" in failed[0]["ResourceStatusReason"]
        assert not aws.client("secretsmanager").list_secrets(
            Filters=[{"Key": "name", "Values": [secret_name]}])["SecretList"]
    finally:
        cfn.delete_stack(StackName=name)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_grant_lets_its_grantee_read_within_its_constraints(aws):
    """KMS developer guide, "Grants in AWS KMS": a grant lets its grantee principal use the key for the grant's
    operations, without any policy; GrantConstraints (API reference) limit it to requests whose encryption
    context includes (EncryptionContextSubset) the given pairs — Secrets Manager's context holds SecretARN.
    So a role with no KMS permission reads a secret once granted Decrypt for that secret's ARN, and not a
    secret of the same key outside the constraint."""
    key = _key(aws, _delegate_to_iam(aws))
    granted, other = _secret(aws, key), _secret(aws, key)
    credentials = _role(aws, READ)
    reader = aws.client("secretsmanager", credentials)
    assert _refusal(reader.get_secret_value, SecretId=granted) == KMS_DENIED
    session = aws.client("sts", credentials).get_caller_identity()["Arn"]
    role_arn = f"arn:aws:iam::{aws.account_id}:role/{session.split('/')[1]}"
    aws.client("kms").create_grant(KeyId=key, GranteePrincipal=role_arn, Operations=["Decrypt"],
                                         Constraints={"EncryptionContextSubset": {"SecretARN": granted}})
    assert reader.get_secret_value(SecretId=granted)["SecretString"] == "the-value"
    assert _refusal(reader.get_secret_value, SecretId=other) == KMS_DENIED
    assert _refusal(reader.put_secret_value, SecretId=granted, SecretString="x") == KMS_DENIED  # Decrypt only


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_cloudformation_dynamic_reference_needs_the_callers_decrypt(aws):
    """CloudFormation user guide, "Get a secret from Secrets Manager with dynamic references": CloudFormation
    retrieves the value when it creates the resource, with the caller's permissions (GetSecretValue, hence
    kms:Decrypt on a customer managed key). A caller who may encrypt with the key but not decrypt makes a stack
    whose resource resolves the secret fail, rolled back, with "Access to KMS is not allowed"."""
    secret = _secret(aws, _key(aws, _admin_encrypts(aws)))
    template = {"Resources": {"Parameter": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": unique("/fidelity/kms"), "Type": "String",
        "Value": "{{resolve:secretsmanager:" + secret + ":SecretString}}"}}}}
    cfn = aws.client("cloudformation")
    name = unique("fidelity-kms-ref")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    try:
        with pytest.raises(Exception):
            cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        failed = [event for event in cfn.describe_stack_events(StackName=name)["StackEvents"]
                  if event.get("ResourceStatus") == "CREATE_FAILED"]
        assert [event["LogicalResourceId"] for event in failed] == ["Parameter"]
        assert "Access to KMS is not allowed" in failed[0]["ResourceStatusReason"]
    finally:
        cfn.delete_stack(StackName=name)
