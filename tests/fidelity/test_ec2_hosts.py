"""localaws.ext.ec2_hosts: an instance launched with a key pair is an SSH host; key pairs deploy from CloudFormation."""
from __future__ import annotations

import json
import socket
from pathlib import Path

import paramiko
import pytest

from suite.attendee.bastion import Bastion, new_key_pair, published_host_keys
from tests.support.ecs_world import public_subnet, ssh_server_key
from tests.support.aws_helpers import amazon_linux_image, unique, wait_for
from tests.fidelity.validation import NOT_YET_VALIDATED

# This machine's own SSH host keys (Debian's openssh-server makes them when it is installed).
MACHINE_HOST_KEYS = sorted(Path("/etc/ssh").glob("ssh_host_*_key.pub"))


@pytest.fixture(scope="module")
def network(aws) -> dict[str, str]:
    """A subnet that maps public IPs on launch, routed to an internet gateway, and a group that admits SSH
    from the suite (the internet: offline 127.0.0.1, live this machine's address) and from its own members:
    where a bastion lives."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.62.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.62.1.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    public_subnet(ec2, vpc, subnet)
    group = ec2.create_security_group(GroupName=unique("fid-ssh"), Description="SSH", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": aws.admin_cidr()}],
         "UserIdGroupPairs": [{"GroupId": group}]}])
    return {"vpc": vpc, "subnet": subnet, "group": group}


def _launch(aws, key_name: str, network: dict[str, str]) -> dict:
    ec2 = aws.client("ec2")
    image = amazon_linux_image(aws)
    instance_id = ec2.run_instances(ImageId=image, InstanceType="t3.micro", KeyName=key_name, MinCount=1,
                                    MaxCount=1, SubnetId=network["subnet"],
                                    SecurityGroupIds=[network["group"]])["Instances"][0]["InstanceId"]
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {"id": instance_id, "address": described["PublicIpAddress"]}


def _reachable(address: str) -> bool:
    try:
        socket.create_connection((address, 22), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def host(aws, route, network):
    """One instance launched with the key pair, and the route attached to it (host keys checked)."""
    key_name, bastion = route
    instance = _launch(aws, key_name, network)
    ec2 = aws.client("ec2")
    try:
        instance["host_keys"] = published_host_keys(ec2, instance["id"], timeout=10)
        bastion.attach(instance["address"], instance["host_keys"])
        yield {**instance, "route": bastion}
    finally:
        ec2.terminate_instances(InstanceIds=[instance["id"]])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_key_pair_logs_in_as_ec2_user_on_the_public_ip(host):
    """An instance launched with a key pair accepts SSH on port 22 of its public IP as ec2-user with that key."""
    _, stdout, _ = host["route"].client.exec_command("id -un")
    assert stdout.read().decode().strip() == "ec2-user"
    assert stdout.channel.recv_exit_status() == 0


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_password_login_is_refused(host):
    """Amazon Linux's sshd has PasswordAuthentication off: the server offers public-key authentication only,
    and a password is refused."""
    transport = paramiko.Transport((host["address"], 22))
    try:
        transport.start_client(timeout=10)
        with pytest.raises(paramiko.BadAuthenticationType) as offered:
            transport.auth_none("ec2-user")
        assert offered.value.allowed_types == ["publickey"]
        with pytest.raises(paramiko.SSHException):
            transport.auth_password("ec2-user", "any-password")
    finally:
        transport.close()


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_direct_tcpip_channel_reaches_another_host_of_the_vpc(aws, route, network, host):
    """The bastion pattern: AllowTcpForwarding lets a client open a direct-tcpip channel through the
    instance to a private address: here another instance whose group admits the first one's."""
    other = _launch(aws, route[0], network)
    try:
        channel = host["route"].socket_to(other["address"], 22)
        try:
            assert channel.recv(64).startswith(b"SSH-2.0-")
        finally:
            channel.close()
    finally:
        aws.client("ec2").terminate_instances(InstanceIds=[other["id"]])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_console_output_publishes_the_host_keys_the_server_presents(aws, host):
    """cloud-init prints the host's SSH public keys to the console between "-----BEGIN SSH HOST KEY KEYS-----"
    and "-----END SSH HOST KEY KEYS-----"; GetConsoleOutput returns them, so a client can check the server's
    key (RejectPolicy): a connection expecting other keys is refused."""
    assert ssh_server_key(host["address"]) in host["host_keys"]
    assert {key.split()[0] for key in host["host_keys"]} >= {"ssh-ed25519"}
    stranger = Bastion()
    _, other_public = new_key_pair()
    with pytest.raises(paramiko.SSHException):
        stranger.attach(host["address"], [" ".join(other_public.split()[:2])])
    stranger.close()


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_each_instance_has_host_keys_of_its_own(aws, route, network, host):
    """Host keys are generated on an instance's first boot: two instances never share them."""
    other = _launch(aws, route[0], network)
    try:
        theirs = published_host_keys(aws.client("ec2"), other["id"], timeout=10)
        machine = {" ".join(path.read_text().split()[:2]) for path in MACHINE_HOST_KEYS}
        assert not set(theirs) & set(host["host_keys"])
        assert not set(theirs) & machine
    finally:
        aws.client("ec2").terminate_instances(InstanceIds=[other["id"]])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_stop_start_terminate_stop_and_restart_the_host(aws, route, network):
    """StopInstances stops the host (nothing answers on port 22), StartInstances boots it again with the same
    host keys, TerminateInstances ends it."""
    ec2 = aws.client("ec2")
    instance = _launch(aws, route[0], network)
    try:
        keys = published_host_keys(ec2, instance["id"], timeout=10)
        assert _reachable(instance["address"])
        ec2.stop_instances(InstanceIds=[instance["id"]])
        wait_for(lambda: not _reachable(instance["address"]), timeout=10, what="the stopped host to go away")
        ec2.start_instances(InstanceIds=[instance["id"]])
        wait_for(lambda: _reachable(instance["address"]), timeout=10, what="the started host to answer")
        assert ssh_server_key(instance["address"]) in keys
    finally:
        ec2.terminate_instances(InstanceIds=[instance["id"]])
    wait_for(lambda: not _reachable(instance["address"]), timeout=10, what="the terminated host to go away")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_cloudformation_key_pair_imports_the_public_key_material(aws):
    """AWS::EC2::KeyPair with PublicKeyMaterial imports that key ("Ref returns the name of the key pair");
    deleting the stack deletes the key pair."""
    _, public_key = new_key_pair()
    name = unique("fid-cfn-key")
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Key": {"Type": "AWS::EC2::KeyPair",
                              "Properties": {"KeyName": name, "PublicKeyMaterial": public_key,
                                             "Tags": [{"Key": "Project", "Value": "smproj"}]}}},
        "Outputs": {"KeyRef": {"Value": {"Ref": "Key"}}},
    }
    cfn, ec2 = aws.client("cloudformation"), aws.client("ec2")
    stack = unique("fid-key-stack")
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    try:
        cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        outputs = cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
        assert outputs == [{"OutputKey": "KeyRef", "OutputValue": name}]
        pair = ec2.describe_key_pairs(KeyNames=[name], IncludePublicKey=True)["KeyPairs"][0]
        assert pair["KeyType"] == "ed25519"
        assert pair["PublicKey"].split()[:2] == public_key.split()[:2]
    finally:
        cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    assert name not in [pair["KeyName"] for pair in ec2.describe_key_pairs()["KeyPairs"]]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_cloudformation_instance_is_in_its_security_group_ids(aws):
    """AWS::EC2::Instance SecurityGroupIds: "The IDs of the security groups" of an instance in a VPC
    (CloudFormation user guide, AWS::EC2::Instance); DescribeInstances lists them under SecurityGroups."""
    ec2, cloudformation = aws.client("ec2"), aws.client("cloudformation")
    image = amazon_linux_image(aws)
    template = {"Resources": {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.61.0.0/16"}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.61.1.0/24"}},
        "Group": {"Type": "AWS::EC2::SecurityGroup",
                  "Properties": {"GroupDescription": "fidelity", "VpcId": {"Ref": "Vpc"}}},
        "Host": {"Type": "AWS::EC2::Instance",
                 "Properties": {"ImageId": image, "InstanceType": "t3.micro", "SubnetId": {"Ref": "Subnet"},
                                "SecurityGroupIds": [{"Ref": "Group"}]}}}}
    name = unique("fid-instance-groups")
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cloudformation.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1})
    try:
        resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                     for r in cloudformation.describe_stack_resources(StackName=name)["StackResources"]}
        instance = ec2.describe_instances(InstanceIds=[resources["Host"]])["Reservations"][0]["Instances"][0]
        assert [group["GroupId"] for group in instance["SecurityGroups"]] == [resources["Group"]]
        assert [group["GroupId"] for group in instance["NetworkInterfaces"][0]["Groups"]] == [resources["Group"]]
    finally:
        cloudformation.delete_stack(StackName=name)
