"""Run Command helpers the fidelity modules share: an instance profile for the SSM Agent, a launch,
a command run to its end."""
from __future__ import annotations

import json

from tests.support.aws_helpers import amazon_linux_image, unique, wait_for

AGENT_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
    "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel", "ec2messages:GetMessages",
    "ec2messages:AcknowledgeMessage", "ec2messages:SendReply", "ec2messages:DeleteMessage"]}]}


def agent_profile(aws, policy: dict | None, trusting: str = "ec2.amazonaws.com") -> str:
    """An instance profile whose role trusts `trusting` (EC2's principal, unless told otherwise)."""
    iam = aws.client("iam")
    name = unique("fid-ssm")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": trusting},
                                                      "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="agent", PolicyDocument=json.dumps(policy))
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return name


def launch(aws, route, subnet: str, profile: str | None, user_data: str | None = None) -> str:
    """An Amazon Linux instance in `subnet` (with the key pair of `route`, unless it is None)."""
    ec2 = aws.client("ec2")
    image = amazon_linux_image(aws)
    extra = {"IamInstanceProfile": {"Name": profile}} if profile else {}
    extra.update({"KeyName": route[0]} if route else {})
    extra.update({"UserData": user_data} if user_data else {})
    return ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             SubnetId=subnet, **extra)["Instances"][0]["InstanceId"]


def run_command(aws, instance: str, *commands: str, **parameters: list[str]) -> dict:
    ssm = aws.client("ssm")
    sent = ssm.send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                            Parameters={"commands": list(commands), **parameters})["Command"]
    assert sent["Status"] == "Pending"

    def finished() -> dict | None:
        invocation = ssm.get_command_invocation(CommandId=sent["CommandId"], InstanceId=instance)
        return invocation if invocation["Status"] not in ("Pending", "InProgress", "Delayed") else None
    return wait_for(finished, timeout=30, what="the command to finish")


def booted(aws, instance: str) -> dict:
    """Once cloud-init has finished on the instance: its result.json."""
    def done() -> dict | None:
        result = run_command(aws, instance, "cat /run/cloud-init/result.json")
        return json.loads(result["StandardOutputContent"]) if result["Status"] == "Success" else None
    return wait_for(done, timeout=60, what="cloud-init to finish")
