"""Small builders the fidelity modules share: names, Lambda packages and roles, log reading."""
from __future__ import annotations

import io
import json
import textwrap
import time
import uuid
import zipfile
from typing import Any, Callable

from botocore.exceptions import WaiterError

from suite.credentials import Credentials
from suite.deploy.packaging import bundle_packages
from tests.support.any_aws import FidelityAWS

LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}

# What every function needs to write its logs (AWSLambdaBasicExecutionRole).
BASIC_EXECUTION = {"Effect": "Allow", "Resource": "*", "Action": [
    "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]}
# What a function in a VPC needs of its role (AWSLambdaVPCAccessExecutionRole's network-interface actions).
VPC_ACCESS = {"Effect": "Allow", "Resource": "*", "Action": [
    "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]}


# Test data written before the account is known (parametrize lists) names it so; in_account() fills it in.
THIS_ACCOUNT = "<this account>"


def in_account(aws: FidelityAWS, data: Any) -> Any:
    """`data` (JSON-like) with THIS_ACCOUNT made the account's id."""
    return json.loads(json.dumps(data).replace(THIS_ACCOUNT, aws.account_id))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"  # AWS's public parameter


def amazon_linux_image(aws: FidelityAWS) -> str:
    """The current Amazon Linux 2023 AMI of the region (AWS's public SSM parameter, as the deploy reads it)."""
    return aws.client("ssm").get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]


def lambda_zip(source: str, module: str = "index", packages: tuple[str, ...] = ()) -> bytes:
    """A deployment package holding one module, and the installed `packages` it bundles."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}.py", textwrap.dedent(source))
        bundle_packages(archive, packages)
    return buffer.getvalue()


def create_lambda_role(aws: FidelityAWS, name: str, statements: list[dict[str, Any]] | None = None) -> str:
    """A role Lambda may assume, with AWSLambdaBasicExecutionRole's log actions and `statements`."""
    iam = aws.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [BASIC_EXECUTION, *(statements or [])]}))
    return arn


RUNTIME = "python3.12"  # the workshop's


def allow_secrets_manager(aws: FidelityAWS, function_name: str) -> None:
    """The function's resource policy lets Secrets Manager invoke it (as a rotation function's must)."""
    aws.client("lambda").add_permission(FunctionName=function_name, StatementId="secretsmanager",
                                        Action="lambda:InvokeFunction", Principal="secretsmanager.amazonaws.com")


def create_function(aws: FidelityAWS, name: str, source: str, role_arn: str, *, timeout: int = 30,
                    environment: dict[str, str] | None = None, handler: str = "index.handler",
                    packages: tuple[str, ...] = ()) -> str:
    """A Python function from `source` (with the installed `packages` bundled), which Secrets Manager may invoke."""
    kwargs: dict[str, Any] = {}
    if environment:
        kwargs["Environment"] = {"Variables": environment}
    arn = aws.client("lambda").create_function(
        FunctionName=name, Runtime=RUNTIME, Role=role_arn, Handler=handler,
        Code={"ZipFile": lambda_zip(source, packages=packages)}, Timeout=timeout, **kwargs,
    )["FunctionArn"]
    allow_secrets_manager(aws, name)
    return arn


def log_messages(aws: FidelityAWS, function_name: str) -> list[str]:
    """Every line the function wrote, across its log streams, oldest first (empty if none yet)."""
    logs = aws.client("logs")
    events: list[dict[str, Any]] = []
    kwargs = {"logGroupName": f"/aws/lambda/{function_name}"}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken") or not page["events"]:
                break
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in sorted(events, key=lambda event: event["timestamp"])]


def wait_for(condition: Callable[[], Any], timeout: float = 30, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def await_stack(aws: FidelityAWS, name: str, state: str = "create", timeout: float = 60) -> None:
    """Until the stack is `state`-complete (create, update, delete), polling as fast as the AWS moves;
    a stack that ends otherwise raises botocore's WaiterError."""
    aws.client("cloudformation").get_waiter(f"stack_{state}_complete").wait(
        StackName=name, WaiterConfig=aws.waiter_config(timeout))


def create_stack(aws: FidelityAWS, prefix: str, template: dict[str, Any], timeout: float = 60,
                 **create_args: Any) -> tuple[str, dict[str, Any]]:
    """Create a stack of `template` and wait until it has ended, completed or not: its name and description."""
    cloudformation = aws.client("cloudformation")
    name = unique(prefix)
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template), **create_args)
    try:
        await_stack(aws, name, "create", timeout)
    except WaiterError:
        pass  # failed or rolled back: the description says which
    return name, cloudformation.describe_stacks(StackName=name)["Stacks"][0]


def failed_reasons(aws: FidelityAWS, name: str, statuses: tuple[str, ...] = ("CREATE_FAILED",)) -> dict[str, str]:
    """Logical id -> CloudFormation's reason, for each resource event of the stack in one of `statuses`."""
    events = aws.client("cloudformation").describe_stack_events(StackName=name)["StackEvents"]
    return {e["LogicalResourceId"]: e.get("ResourceStatusReason", "") for e in events
            if e["ResourceStatus"] in statuses and e["LogicalResourceId"] != name}


def secret_arn_pattern(aws: FidelityAWS, name_glob: str) -> str:
    return f"arn:aws:secretsmanager:{aws.region}:{aws.account_id}:secret:{name_glob}"


# --- IAM identities and rotation functions that more than one module builds

ROTATION_ACTIONS = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"]


def policy_document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def iam_user(aws, *statements: dict) -> tuple[str, Credentials]:
    """A new IAM user whose only permissions are these statements (inline), and its access key."""
    iam = aws.client("iam")
    name = unique("reader")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy_document(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, Credentials(key["AccessKeyId"], key["SecretAccessKey"])



# A minimal rotation function: it follows the four-step protocol for a plain-string secret.
# DELAY_STEP/DELAY slow one step down (to observe the rotation while it runs); FAIL_STEP fails one.
ROTATION_HANDLER = """
import os
import time

import boto3


def handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    print("STEP", step, arn, token, flush=True)
    if os.environ.get("DELAY_STEP") == step:
        time.sleep(float(os.environ["DELAY"]))
    if os.environ.get("FAIL_STEP") == step:
        raise RuntimeError("failing at " + step + " on purpose")
    sm = boto3.client("secretsmanager")
    if step == "createSecret":
        try:
            sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        except sm.exceptions.ResourceNotFoundException:
            current = sm.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"]
            sm.put_secret_value(SecretId=arn, ClientRequestToken=token, SecretString=current + "+rotated",
                                VersionStages=["AWSPENDING"])
    elif step == "testSecret":
        sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    elif step == "finishSecret":
        stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = next(version for version, labels in stages.items() if "AWSCURRENT" in labels)
        if current != token:
            sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT", MoveToVersionId=token,
                                           RemoveFromVersionId=current)
"""

def rotatable_secret(aws, role_name: str, value: str) -> str:
    """A new secret, and an inline policy letting the rotation role work on exactly its ARN."""
    arn = aws.client("secretsmanager").create_secret(Name=unique("rot/secret"), SecretString=value)["ARN"]
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": ROTATION_ACTIONS, "Resource": arn}]}
    aws.client("iam").put_role_policy(RoleName=role_name, PolicyName=unique("secret"),
                                      PolicyDocument=json.dumps(policy))
    return arn


def cloudtrail_bucket_policy(bucket_arn: Any, account: str | None = None) -> dict:
    """The bucket policy CloudTrail needs: GetBucketAcl on the bucket, PutObject under AWSLogs/<account>/
    (in a template, `bucket_arn` an intrinsic: the stack's own account, ${AWS::AccountId})."""
    logs = f"{bucket_arn}/AWSLogs/{account}/*" if isinstance(bucket_arn, str) else {
        "Fn::Sub": ["${Bucket}/AWSLogs/${AWS::AccountId}/*", {"Bucket": bucket_arn}]}
    service = {"Service": "cloudtrail.amazonaws.com"}
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AclCheck", "Effect": "Allow", "Principal": service, "Action": "s3:GetBucketAcl",
         "Resource": bucket_arn},
        {"Sid": "Write", "Effect": "Allow", "Principal": service, "Action": "s3:PutObject", "Resource": logs,
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}]}


def cloudtrail_bucket(aws: FidelityAWS, prefix: str) -> str:
    """A new bucket CloudTrail may deliver to; its name."""
    bucket = unique(prefix)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(cloudtrail_bucket_policy(f"arn:aws:s3:::{bucket}",
                                                                                   aws.account_id)))
    return bucket


# --- what a function in a VPC reaches (localaws/functions/network.py)

CONNECTION_PROBE = """
import socket
import time


def handler(event, context):
    started = time.monotonic()
    try:
        socket.create_connection((event["host"], event["port"]), timeout=2).close()
        outcome = "connected"
    except socket.timeout:
        outcome = "timed out"
    except ConnectionRefusedError:
        outcome = "refused"
    return {"outcome": outcome, "seconds": round(time.monotonic() - started, 1)}
"""


def probe_connection(aws: FidelityAWS, vpc_config: dict[str, Any] | None, host: str, port: int) -> dict[str, Any]:
    """What a new function (attached to `vpc_config`) sees of host:port: "connected", "timed out" or "refused"."""
    role = create_lambda_role(aws, unique("net-role"), [VPC_ACCESS])
    name = unique("net-probe")
    lam = aws.client("lambda")
    create_function(aws, name, CONNECTION_PROBE, role, timeout=10)
    if vpc_config:
        lam.update_function_configuration(FunctionName=name, VpcConfig=vpc_config)
    return json.loads(lam.invoke(FunctionName=name, Payload=json.dumps({"host": host, "port": port}))["Payload"].read())


# --- reading a rotation back: labels, and the steps the rotation function was invoked for

def version_stages(secrets_manager: Any, arn: str) -> dict[str, list[str]]:
    return secrets_manager.describe_secret(SecretId=arn)["VersionIdsToStages"]


def label_holders(stages: dict[str, list[str]], label: str) -> list[str]:
    return [version for version, labels in stages.items() if label in labels]


def steps_logged(aws: FidelityAWS, function_name: str, secret_arn: str) -> list[tuple[str, str]]:
    """(step, token) of every invocation of ROTATION_HANDLER for this secret, in order."""
    found = []
    for line in log_messages(aws, function_name):
        parts = line.split()
        if len(parts) == 4 and parts[0] == "STEP" and parts[2] == secret_arn:
            found.append((parts[1], parts[3]))
    return found
