"""localaws.hosts.boot, instance_metadata, instance_software: an Amazon Linux instance without a key
pair boots, runs its user data, has its role's keys and the software AWS gives it.

AWS: EC2 user guide, "Run commands when you launch an EC2 instance with user data" (once, as root, output
in /var/log/cloud-init-output.log and the console), "Use IMDSv2" (PUT a token first; with HttpTokens
required a GET without one is 401), "Retrieve security credentials from instance metadata" (the instance
profile role's temporary keys, which the AWS CLI uses); Amazon Linux 2023 user guide, "Package
management" (`dnf install -y`; a package no repository has: "Unable to find a match").
"""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import WaiterError

from tests.support.aws_helpers import unique
from tests.support.ssm_agent import AGENT_POLICY, agent_profile, booted as _booted, launch, run_command
from tests.fidelity.validation import NOT_YET_VALIDATED

USER_DATA = """#!/bin/bash
set -euxo pipefail
dnf install -y jq
echo "user data ran as $(id -un)" > /root/user-data-ran
"""
IMDS = "http://169.254.169.254/latest"
TOKEN = f'TOKEN=$(curl -s -X PUT {IMDS}/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")'


@pytest.fixture(scope="module")
def instance(aws, vpc):
    """An instance without a key pair, with the agent's and a read-only IAM permission, and user data."""
    policy = {"Version": "2012-10-17", "Statement": [*AGENT_POLICY["Statement"], {
        "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}
    instance = launch(aws, None, vpc["public"], agent_profile(aws, policy), user_data=USER_DATA)
    _booted(aws, instance)
    yield instance
    aws.client("ec2").terminate_instances(InstanceIds=[instance])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_user_data_runs_once_as_root_and_its_output_is_on_the_console(aws, instance):
    result = run_command(aws, instance, "cat /root/user-data-ran", "grep -c 'dnf install -y jq' "
                         "/var/log/cloud-init-output.log")
    assert result["StandardOutputContent"].split("\n")[:2] == ["user data ran as root", "1"]
    console = aws.client("ec2").get_console_output(InstanceId=instance)["Output"]
    assert "+ dnf install -y jq" in console and "Complete!" in console


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_failing_user_data_script_is_an_error_of_cloud_init(aws, vpc):
    failing = launch(aws, None, vpc["public"], agent_profile(aws, AGENT_POLICY),
                     user_data="#!/bin/bash\nset -e\nfalse\necho never\n")
    try:
        result = _booted(aws, failing)
        assert result["v1"]["errors"] and "scripts_user" in result["v1"]["errors"][0]
    finally:
        aws.client("ec2").terminate_instances(InstanceIds=[failing])


@pytest.mark.parametrize("allowed", [True, False], ids=["role allows s3:GetObject", "role does not"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_user_data_fetches_an_s3_object_as_the_instance_role(aws, vpc, allowed):
    """`aws s3 cp s3://BUCKET/KEY` at boot (the CLI addresses BUCKET.s3.amazonaws.com): the object
    arrives where the role may read it; where not, S3 answers 403 and the user data fails."""
    s3 = aws.client("s3")
    bucket = unique("fid-boot-files")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="files/hello.txt", Body=b"hello from s3\n")
    statements = [*AGENT_POLICY["Statement"]]
    if allowed:
        statements.append({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/files/*"})
    fetching = launch(aws, None, vpc["public"],
                      agent_profile(aws, {"Version": "2012-10-17", "Statement": statements}),
                      user_data=f"#!/bin/bash\nset -eu\naws s3 cp s3://{bucket}/files/hello.txt /root/hello.txt\n")
    try:
        errors = _booted(aws, fetching)["v1"]["errors"]
        if allowed:
            assert not errors
            assert run_command(aws, fetching, "cat /root/hello.txt")["StandardOutputContent"] == "hello from s3\n"
        else:
            assert errors, "the user data should have failed"
            log = run_command(aws, fetching, "cat /var/log/cloud-init-output.log")["StandardOutputContent"]
            assert "403" in log or "Forbidden" in log or "AccessDenied" in log, log[-500:]
    finally:
        aws.client("ec2").terminate_instances(InstanceIds=[fetching])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_instance_metadata_wants_a_token_and_holds_the_role_keys(aws, instance):
    result = run_command(aws, instance, TOKEN,
                         f'curl -s -o /dev/null -w "%{{http_code}}\\n" {IMDS}/meta-data/instance-id',
                         f'curl -s -H "X-aws-ec2-metadata-token: $TOKEN" {IMDS}/meta-data/instance-id; echo',
                         f'curl -s -H "X-aws-ec2-metadata-token: $TOKEN" {IMDS}/meta-data/iam/security-credentials/;'
                         ' echo')
    lines = result["StandardOutputContent"].split("\n")
    assert lines[0] == "401", "IMDSv2 only: a GET without a token is refused"
    assert lines[1] == instance
    assert lines[2].startswith("fid-ssm-"), "the instance profile's role is named"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_aws_cli_on_the_instance_is_the_instance_role(aws, instance):
    result = run_command(aws, instance, "aws sts get-caller-identity --output json")
    assert result["Status"] == "Success", result["StandardErrorContent"]
    arn = json.loads(result["StandardOutputContent"])["Arn"]
    assert ":assumed-role/fid-ssm-" in arn and arn.endswith(f"/{instance}")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_software_comes_only_with_dnf_install(aws, instance):
    result = run_command(aws, instance, "jq --version >/dev/null && echo jq installed",
                         "mysql --version >/dev/null 2>&1; echo mysql exit $?",
                         "dnf install mariadb105 >/dev/null 2>&1; echo without -y exit $?",
                         "dnf install -y no-such-package 2>&1 | tail -1",
                         "dnf install -y mariadb105 >/dev/null && mysql --version >/dev/null && echo mysql installed")
    assert result["StandardOutputContent"].split("\n")[:5] == [
        "jq installed", "mysql exit 127", "without -y exit 1", "Error: Unable to find a match: no-such-package",
        "mysql installed"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_root_becomes_ec2_user_with_a_login_shell(aws, instance):
    """Session Manager's `sudo -iu ec2-user`, as Run Command scripts (root) do it. (ec2-user's own
    sudo is not reproduced: the sandbox's file systems are nosuid.)"""
    result = run_command(aws, instance, "sudo -iu ec2-user bash -c 'whoami; pwd'")
    assert result["StandardOutputContent"].split("\n")[:2] == ["ec2-user", "/home/ec2-user"], (
        result["StandardErrorContent"])
    assert "unable to resolve host" not in result["StandardErrorContent"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_user_data_that_is_not_base64_fails_the_stack(aws, vpc):
    """EC2 takes base64 user data only: a template that forgets Fn::Base64 fails its instance
    ("Invalid BASE64 encoding of user data.") and the stack rolls back."""
    cloudformation = aws.client("cloudformation")
    image = aws.client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    name = unique("fid-user-data")
    template = {"Resources": {"Host": {"Type": "AWS::EC2::Instance", "Properties": {
        "ImageId": image, "InstanceType": "t3.micro", "SubnetId": vpc["public"],
        "UserData": "#!/bin/bash\necho plain text, not base64\n"}}}}
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    with pytest.raises(WaiterError):
        cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1,
                                                                                               "MaxAttempts": 30})
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    [failed] = [e for e in events if e["ResourceStatus"] == "CREATE_FAILED"]
    assert "Invalid BASE64 encoding of user data" in failed["ResourceStatusReason"], failed
    cloudformation.delete_stack(StackName=name)
