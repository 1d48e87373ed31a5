"""EC2 pieces the network fidelity tests share: a security group with rules, an instance with a key pair, the
rule admitting SSH from where the suite connects."""
from __future__ import annotations

from tests.support.aws_helpers import amazon_linux_image, unique


def ssh_from_the_suite(aws) -> dict:
    """Port 22 from where the suite connects from (the internet: offline 127.0.0.1, live this machine's address)."""
    return {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": aws.admin_cidr()}]}


def security_group(ec2, vpc: str, *rules: dict) -> str:
    group = ec2.create_security_group(GroupName=unique("fid-net"), Description="fidelity", VpcId=vpc)["GroupId"]
    if rules:
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=list(rules))
    return group


def instance(aws, key_name: str, subnet: str, group: str) -> dict:
    ec2 = aws.client("ec2")
    image = amazon_linux_image(aws)
    instance_id = ec2.run_instances(ImageId=image, InstanceType="t3.micro", KeyName=key_name, MinCount=1, MaxCount=1,
                                    SubnetId=subnet, SecurityGroupIds=[group])["Instances"][0]["InstanceId"]
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {"id": instance_id, "address": described["PublicIpAddress"]}
