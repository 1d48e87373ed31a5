"""localaws.network.host_wiring: an instance's and a task's connections follow the VPC's security groups and routes.

AWS, VPC user guide, "Control traffic to your AWS resources using security groups": "Security groups are
stateful ... If you don't add inbound rules, no inbound traffic is allowed"; a rule's source is an
address range or another security group ("allows the resources associated with the referenced security
group to send traffic"). "Configure route tables": a subnet reaches the internet through a route to an
internet gateway, with a public IP. A dropped packet is not answered: the client's connect times out.
"""
from __future__ import annotations

import socket
import time

import pytest

from suite.attendee.bastion import published_host_keys
from tests.support.ec2_instances import (instance as _instance, security_group as _group,
                                         ssh_from_the_suite as _ssh_from_the_suite)
from tests.fidelity.validation import NOT_YET_VALIDATED


def _answers(address: str, timeout: float = 2) -> str:
    """"answers", "refused" or "timed out": what a client sees of address:22."""
    try:
        with socket.create_connection((address, 22), timeout=timeout) as connection:
            connection.settimeout(timeout)
            return "answers" if connection.recv(8).startswith(b"SSH-") else "silent"
    except ConnectionRefusedError:
        return "refused"
    except (socket.timeout, TimeoutError):
        return "timed out"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_internet_reaches_an_instance_only_as_its_group_and_route_allow(aws, vpc, route):
    """No inbound rule: the SYN goes unanswered (a timeout, not "connection refused"); a rule admitting the
    caller's address opens port 22 at once on the running instance; in a subnet with no route to an internet
    gateway the same rule opens nothing."""
    ec2 = aws.client("ec2")
    group = _group(ec2, vpc["vpc"])
    public = _instance(aws, route[0], vpc["public"], group)
    private = _instance(aws, route[0], vpc["private"], group)
    try:
        assert _answers(public["address"]) == "timed out"
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[_ssh_from_the_suite(aws)])
        assert _answers(public["address"]) == "answers"
        assert _answers(private["address"]) == "timed out"
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[_ssh_from_the_suite(aws)])
        assert _answers(public["address"]) == "timed out"
    finally:
        ec2.terminate_instances(InstanceIds=[public["id"], private["id"]])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_bastion_reaches_a_host_only_when_its_group_is_admitted(aws, vpc, route):
    """The bastion pattern: the target's group admits the bastion's group (a referenced security group), and
    the bastion's SSH forwarding reaches the target's port 22; a target whose group does not name it drops
    the connection, which the bastion's sshd waits out (the channel does not open; nothing refuses it)."""
    ec2 = aws.client("ec2")
    key_name, bastion_route = route
    bastion_group = _group(ec2, vpc["vpc"], _ssh_from_the_suite(aws))
    target_group = _group(ec2, vpc["vpc"])
    bastion = _instance(aws, key_name, vpc["public"], bastion_group)
    target = _instance(aws, key_name, vpc["private"], target_group)
    try:
        bastion_route.attach(bastion["address"], published_host_keys(ec2, bastion["id"], timeout=10))
        started = time.monotonic()
        with pytest.raises(ConnectionError, match="went unanswered"):
            bastion_route.socket_to(target["address"], 22, timeout=3)
        assert time.monotonic() - started >= 3
        ec2.authorize_security_group_ingress(GroupId=target_group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": bastion_group}]}])
        channel = bastion_route.socket_to(target["address"], 22, timeout=10)
        try:
            assert channel.recv(8).startswith(b"SSH-")
        finally:
            channel.close()
        assert _answers(target["address"]) == "timed out"  # still not from the internet: no route, no rule
    finally:
        ec2.terminate_instances(InstanceIds=[bastion["id"], target["id"]])
