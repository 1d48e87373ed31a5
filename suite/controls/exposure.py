"""What the deployed workshop exposes, read from the account (not the template), as Security Hub's
controls read it:

- RDS.2: "RDS DB instances should prohibit public access": PubliclyAccessible is false.
- EC2.13: "Security groups should not allow ingress from 0.0.0.0/0 or ::/0 to port 22".
- EC2.19: "Security groups should not allow unrestricted access to ports with high risk"
  (the control's port list; the database's own port is added when it is not 3306).
- Session Manager only: the bastion admits port 22 from no address and no group, and carries no
  key pair (the workshop as handed out: attendees reach it through Session Manager; a deployment
  that added a key and an inbound rule for someone's address is not the workshop).
- SSH paths: a task admits port 22 only from the bastion's security group (no address range at all).
"""
from __future__ import annotations

from typing import Any, Iterable

OPEN_TO_ALL = ("0.0.0.0/0", "::/0")
# Security Hub EC2.19's high-risk ports.
HIGH_RISK_PORTS = (20, 21, 22, 23, 25, 110, 135, 143, 445, 1433, 1434, 3000, 3306, 3389, 4333, 5000, 5432,
                   5500, 5601, 8080, 8088, 8888, 9200, 9300)


def rds_2_findings(rds: Any, instance_id: str) -> list[str]:
    instance = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
    if instance.get("PubliclyAccessible"):
        return [f"DB instance {instance_id} is publicly accessible (PubliclyAccessible: true)"]
    return []


def _covers(permission: dict[str, Any], port: int) -> bool:
    if permission.get("IpProtocol") in ("-1", "all"):
        return True
    if permission.get("IpProtocol") not in ("tcp", "6"):
        return False
    return permission.get("FromPort", 0) <= port <= permission.get("ToPort", 65535)


def _sources(permission: dict[str, Any]) -> list[str]:
    return ([r["CidrIp"] for r in permission.get("IpRanges", [])]
            + [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
            + [pair["GroupId"] for pair in permission.get("UserIdGroupPairs", [])]
            + [prefix["PrefixListId"] for prefix in permission.get("PrefixListIds", [])])


def vpc_security_groups(ec2: Any, vpc_id: str) -> list[dict[str, Any]]:
    pages = ec2.get_paginator("describe_security_groups").paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return [group for page in pages for group in page["SecurityGroups"]]


def open_port_findings(groups: Iterable[dict[str, Any]], ports: Iterable[int]) -> list[str]:
    """Every rule that admits 0.0.0.0/0 or ::/0 to one of `ports`."""
    findings = []
    for group in groups:
        for permission in group.get("IpPermissions", []):
            open_sources = [source for source in _sources(permission) if source in OPEN_TO_ALL]
            for port in ports:
                if open_sources and _covers(permission, port):
                    findings.append(f"{group['GroupId']} ({group.get('GroupName', '')}) admits "
                                    f"{', '.join(open_sources)} to port {port}")
    return findings


def ssh_sources(groups: Iterable[dict[str, Any]]) -> set[str]:
    """Every source (CIDR or group id) the groups admit to port 22."""
    return {source for group in groups for permission in group.get("IpPermissions", [])
            if _covers(permission, 22) for source in _sources(permission)}


def groups_by_id(ec2: Any, group_ids: Iterable[str]) -> list[dict[str, Any]]:
    ids = sorted(set(group_ids))
    return ec2.describe_security_groups(GroupIds=ids)["SecurityGroups"] if ids else []


def instance_group_ids(ec2: Any, instance_id: str) -> list[str]:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return [group["GroupId"] for r in reservations for i in r["Instances"] for group in i.get("SecurityGroups", [])]


def task_group_ids(ec2: Any, ecs: Any, cluster: str, task_arn: str) -> list[str]:
    """The groups of the task's network interface (awsvpc)."""
    task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    enis = [detail["value"] for attachment in task.get("attachments", [])
            for detail in attachment.get("details", []) if detail["name"] == "networkInterfaceId"]
    if not enis:
        return []
    interfaces = ec2.describe_network_interfaces(NetworkInterfaceIds=enis)["NetworkInterfaces"]
    return [group["GroupId"] for interface in interfaces for group in interface.get("Groups", [])]


def session_manager_only_findings(ec2: Any, instance_id: str) -> list[str]:
    """What lets anyone reach the bastion other than through Session Manager: an SSH rule, a key pair."""
    findings = [f"the bastion admits SSH from {source}" for source in
                sorted(ssh_sources(groups_by_id(ec2, instance_group_ids(ec2, instance_id))))]
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    for key in sorted({i["KeyName"] for r in reservations for i in r["Instances"] if i.get("KeyName")}):
        findings.append(f"the bastion carries the key pair {key}")
    return findings


def ssh_path_findings(ec2: Any, bastion_groups: list[str], task_groups: list[str]) -> list[str]:
    findings = []
    task_sources = ssh_sources(groups_by_id(ec2, task_groups))
    for source in sorted(task_sources - set(bastion_groups)):
        findings.append(f"a task admits SSH from {source}, not only from the bastion's group")
    if not task_sources & set(bastion_groups):
        findings.append("a task does not admit SSH from the bastion's group")
    return findings
