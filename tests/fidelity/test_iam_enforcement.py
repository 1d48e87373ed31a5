"""localaws.ext.iam_enforcement: Secrets Manager calls are authorised against the secret's ARN."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from suite.credentials import Credentials
from tests.support.aws_helpers import iam_user as _user
from tests.support.aws_helpers import secret_arn_pattern, unique
from tests.fidelity.validation import NOT_YET_VALIDATED


@pytest.fixture(scope="module")
def secrets(aws):
    """Two secrets under ws/ and one outside it."""
    sm = aws.client("secretsmanager")
    suffix = unique("iam")
    return {
        "a": sm.create_secret(Name=f"ws/{suffix}-a", SecretString="value-a")["ARN"],
        "b": sm.create_secret(Name=f"ws/{suffix}-b", SecretString="value-b")["ARN"],
        "other": sm.create_secret(Name=f"other/{suffix}", SecretString="value-other")["ARN"],
    }


def _get(aws, credentials: Credentials, arn: str) -> str:
    return aws.client("secretsmanager", credentials).get_secret_value(SecretId=arn)["SecretString"]


def _denied(aws, credentials: Credentials, arn: str) -> dict:
    with pytest.raises(ClientError) as denied:
        _get(aws, credentials, arn)
    return denied.value.response["Error"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_allow_on_one_secret_arn_opens_that_secret_only(aws, secrets):
    """Secrets Manager authorises GetSecretValue against the secret's ARN ("Resource types defined
    by AWS Secrets Manager: secret  arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}"),
    so an Allow naming secret A's ARN allows A and no other secret (implicit deny)."""
    _, credentials = _user(aws, {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                       "Resource": secrets["a"]})
    assert _get(aws, credentials, secrets["a"]) == "value-a"
    assert _denied(aws, credentials, secrets["b"])["Code"] == "AccessDeniedException"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_allow_by_name_prefix_pattern_matches_secrets_under_it(aws, secrets):
    """IAM JSON policy Resource: "You can use wildcard characters (* and ?) within any ARN segment", so
    "arn:aws:secretsmanager:REGION:ACCOUNT:secret:ws/*" matches every secret whose name starts with ws/
    and no other."""
    _, credentials = _user(aws, {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                       "Resource": secret_arn_pattern(aws, "ws/*")})
    assert _get(aws, credentials, secrets["a"]) == "value-a"
    assert _get(aws, credentials, secrets["b"]) == "value-b"
    assert _denied(aws, credentials, secrets["other"])["Code"] == "AccessDeniedException"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_explicit_deny_on_one_arn_overrides_allow_star(aws, secrets):
    """Policy evaluation logic: "An explicit deny in any policy overrides any allows"; the denial
    message says "with an explicit deny in an identity-based policy"."""
    _, credentials = _user(
        aws,
        {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": secrets["a"]},
    )
    error = _denied(aws, credentials, secrets["a"])
    assert error["Code"] == "AccessDeniedException"
    assert "explicit deny" in error["Message"]
    assert _get(aws, credentials, secrets["b"]) == "value-b"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_denial_is_access_denied_exception_naming_principal_action_and_resource(aws, secrets):
    """An unauthorised Secrets Manager call fails with AccessDeniedException whose message reads "User:
    <principal ARN> is not authorized to perform: secretsmanager:GetSecretValue on resource: <secret ARN>
    because no identity-based policy allows the secretsmanager:GetSecretValue action" (IAM user guide,
    "Troubleshoot access denied error messages")."""
    user_arn, credentials = _user(aws, {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                              "Resource": secrets["a"]})
    error = _denied(aws, credentials, secrets["b"])
    assert error["Code"] == "AccessDeniedException"
    message = error["Message"]
    assert user_arn in message
    assert "secretsmanager:GetSecretValue" in message
    assert secrets["b"] in message
    assert message.startswith(f"User: {user_arn} is not authorized to perform: secretsmanager:GetSecretValue "
                              f"on resource: {secrets['b']}")


ROLE_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"SecretArn": {"Type": "String"}, "Caller": {"Type": "String"}},
    "Resources": {
        "ReaderRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    # The caller as the trusted principal (moto 5.2.5 does not treat the
                    # account root principal "arn:aws:iam::ACCOUNT:root" as covering its users).
                    "Statement": [{"Effect": "Allow",
                                   "Principal": {"AWS": {"Ref": "Caller"}},
                                   "Action": "sts:AssumeRole"}],
                },
                "Policies": [{
                    "PolicyName": "read-one-secret",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                       "Resource": {"Ref": "SecretArn"}}],
                    },
                }],
            },
        },
    },
    "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["ReaderRole", "Arn"]}}},
}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_inline_role_policy_from_cloudformation_is_enforced_for_the_assumed_role(aws, secrets):
    """AWS::IAM::Role Policies: "Adds or updates an inline policy document that is embedded in the
    specified IAM role"; credentials of the assumed role get exactly what that policy allows, and a
    denial names the assumed-role session ARN."""
    cfn = aws.client("cloudformation")
    stack = unique("iam-role-stack")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(ROLE_TEMPLATE), Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": "SecretArn", "ParameterValue": secrets["a"]},
                                 {"ParameterKey": "Caller", "ParameterValue": aws.caller_principal}])
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    try:
        assumed = aws.client("sts").assume_role(RoleArn=outputs["RoleArn"], RoleSessionName="fidelity")
        c = assumed["Credentials"]
        credentials = Credentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
        assert _get(aws, credentials, secrets["a"]) == "value-a"
        error = _denied(aws, credentials, secrets["b"])
        assert error["Code"] == "AccessDeniedException"
        assert assumed["AssumedRoleUser"]["Arn"] in error["Message"]
        assert ":assumed-role/" in error["Message"]
    finally:
        cfn.delete_stack(StackName=stack)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_signed_requests_without_a_body_are_verified(aws):
    """SigV4 signs a GET over the empty payload's hash: an administrator's GetFunction, ListFunctions
    and DescribeStacks-style GETs succeed under enforcement, and a wrong secret key is still refused."""
    lam = aws.client("lambda")
    assert "Functions" in lam.list_functions()
    wrong = Credentials(aws.caller.access_key_id, "not-the-secret-key")
    with pytest.raises(ClientError) as refused:
        aws.client("lambda", wrong).list_functions()
    assert refused.value.response["Error"]["Code"] in ("SignatureDoesNotMatch", "InvalidSignatureException")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_secret_resource_policy_counts_with_identity_policies(aws):
    """Policy evaluation logic (IAM user guide), same account: an explicit Deny in the secret's resource
    policy wins over an identity policy's Allow ("... with an explicit deny in a resource-based policy");
    an Allow in the resource policy naming the caller is enough without an identity policy."""
    sm = aws.client("secretsmanager")
    arn = sm.create_secret(Name=unique("rp/secret"), SecretString="resource-policy-value")["ARN"]
    allowed_arn, allowed = _user(aws, {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                "Resource": arn})
    bare_arn, bare = _user(aws, {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"})
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": {"AWS": allowed_arn}, "Action": "secretsmanager:GetSecretValue",
         "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": bare_arn}, "Action": "secretsmanager:GetSecretValue",
         "Resource": "*"}]}))
    with pytest.raises(ClientError) as denied:
        aws.client("secretsmanager", allowed).get_secret_value(SecretId=arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "with an explicit deny in a resource-based policy" in denied.value.response["Error"]["Message"]
    assert aws.client("secretsmanager", bare).get_secret_value(SecretId=arn)["SecretString"] == "resource-policy-value"


@pytest.mark.parametrize("trusted", ["this account's root", "this account's id", "another account's root"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_role_trusting_an_account_is_assumed_by_its_principals_whose_policy_allows(aws, trusted):
    """IAM user guide, "AWS JSON policy elements: Principal": an account's root ARN (or its id) in a role's
    trust policy delegates to that account: any of its principals whose identity-based policy allows
    sts:AssumeRole on the role may assume it; a principal without that allowance, or of another account,
    may not."""
    principal = {"this account's root": f"arn:aws:iam::{aws.account_id}:root", "this account's id": aws.account_id,
                 "another account's root": "arn:aws:iam::111122223333:root"}[trusted]
    iam = aws.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal},
                                                      "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=unique("fid-trust"), AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    _, allowed = _user(aws, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role})
    _, not_allowed = _user(aws, {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"})

    def assume(credentials: Credentials) -> str:
        try:
            aws.client("sts", credentials).assume_role(RoleArn=role, RoleSessionName="fidelity")
            return "assumed"
        except ClientError as error:
            return error.response["Error"]["Code"]

    expected = "AccessDenied" if trusted == "another account's root" else "assumed"
    assert assume(allowed) == expected
    assert assume(not_allowed) == "AccessDenied"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_invoke_is_authorized_as_lambda_invoke_function(aws):
    """Service Authorization Reference, AWS Lambda: the Invoke API is authorized as `lambda:InvokeFunction`
    (there is no `lambda:Invoke` action), and a denial names that action."""
    _, credentials = _user(aws, {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"})
    with pytest.raises(ClientError) as denied:
        aws.client("lambda", credentials).invoke(FunctionName=unique("no-such-function"), Payload=b"{}")
    assert "not authorized to perform: lambda:InvokeFunction" in denied.value.response["Error"]["Message"]


@pytest.mark.local_only("the local AWS names no resource for these services' requests: it checks the action")
def test_an_action_allowed_on_some_resource_is_allowed_where_the_local_aws_names_none(aws):
    """Where the local AWS authorizes a request on no ARN (moto's "*": most services but Secrets Manager, ECR,
    CloudWatch Logs and IAM roles), a statement allowing the action on a named resource allows it, and one
    that does not list the action still denies: the action is enforced, the resource is not."""
    scoped = {"Effect": "Allow", "Action": "ecs:DescribeClusters", "Resource": "arn:aws:ecs:*:*:cluster/smdemo*"}
    _, credentials = _user(aws, scoped)
    ecs = aws.client("ecs", credentials)
    assert "clusters" in ecs.describe_clusters(clusters=["smdemo"])
    with pytest.raises(ClientError) as denied:
        ecs.list_clusters()
    assert "not authorized to perform: ecs:ListClusters" in str(denied.value)
