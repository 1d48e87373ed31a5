"""CloudFormation's security groups keep the egress a template declares.

AWS (CloudFormation template reference, AWS::EC2::SecurityGroup: "When you create a security group, if
you do not add egress rules, we add egress rules that allow all outbound IPv4 and IPv6 traffic.
Otherwise, we do not add them"; AWS::EC2::SecurityGroupEgress: "Adds the specified outbound (egress)
rule to a security group", whose destination is an IPv4 or IPv6 address range (CidrIp, CidrIpv6), a
prefix list (DestinationPrefixListId) or a security group (DestinationSecurityGroupId); IpProtocol -1
is every protocol and port; Ref returns the rule's id): a group declaring SecurityGroupEgress has
exactly those rules, and an AWS::EC2::SecurityGroupEgress adds one rule to a group, which deleting the
resource revokes. DescribeSecurityGroups shows them, and the network model (localaws/network/reachability.py)
lets out only what they admit.
moto 5.2.5 ignores SecurityGroupEgress (every group it makes keeps the default `-1 0.0.0.0/0`) and has
no AWS::EC2::SecurityGroupEgress type (the resource is skipped: a blank row, no rule). The EC2 API's
AuthorizeSecurityGroupEgress and RevokeSecurityGroupEgress work as in AWS.
"""
from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupRule

_original_create = SecurityGroup.create_from_cloudformation_json.__func__


def authorize(backend: Any, group_id: str, rule: dict[str, Any]) -> list[SecurityGroupRule]:
    """One egress rule as a template states it (the SecurityGroupEgress item's or the resource's
    properties), authorized through the EC2 API's path; no destination adds nothing."""
    protocol = str(rule["IpProtocol"])
    note = {"Description": rule["Description"]} if rule.get("Description") else {}
    ranges = [{key: rule[key], **note} for key in ("CidrIp", "CidrIpv6") if rule.get(key)]
    groups = [{"GroupId": rule["DestinationSecurityGroupId"], **note}] if rule.get("DestinationSecurityGroupId") else []
    prefix_lists = ([{"PrefixListId": rule["DestinationPrefixListId"], **note}]
                    if rule.get("DestinationPrefixListId") else [])
    if not (ranges or groups or prefix_lists):
        return []
    every_port = protocol in ("-1", "all")
    added, _ = backend.authorize_security_group_egress(
        group_name_or_id=group_id, ip_protocol=protocol,
        from_port=None if every_port else rule.get("FromPort"), to_port=None if every_port else rule.get("ToPort"),
        ip_ranges=ranges, source_groups=groups, prefix_list_ids=prefix_lists)
    return added


def create_group(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                 **kwargs: Any) -> SecurityGroup:
    group = _original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    declared = (cloudformation_json.get("Properties") or {}).get("SecurityGroupEgress") or []
    if declared:
        group.egress_rules = []  # the default allow-all rules are not added
        backend = ec2_backends[account_id][region_name]
        for rule in declared:
            authorize(backend, group.id, rule)
    return group


class CfnSecurityGroupEgress(CloudFormationModel):
    """AWS::EC2::SecurityGroupEgress: one rule added to a group; Ref and GetAtt Id are its rule id."""

    def __init__(self, account_id: str, region: str, group_id: str, rule_ids: list[str]):
        self.account_id = account_id
        self.region = region
        self.group_id = group_id
        self.rule_ids = rule_ids

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::SecurityGroupEgress"

    @property
    def physical_resource_id(self) -> str:
        return self.rule_ids[0] if self.rule_ids else self.group_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Id":
            return self.physical_resource_id
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str, **kwargs: Any) -> "CfnSecurityGroupEgress":
        properties = cloudformation_json["Properties"]
        added = authorize(ec2_backends[account_id][region_name], properties["GroupId"], properties)
        return cls(account_id, region_name, properties["GroupId"], [rule.id for rule in added])

    def delete(self, account_id: str, region_name: str) -> None:
        backend = ec2_backends[account_id][region_name]
        group = backend.get_security_group_from_id(self.group_id)
        present = [rule.id for rule in group.egress_rules if rule.id in self.rule_ids] if group else []
        if present:  # a rule revoked since, or a group gone, leaves nothing to revoke
            backend.revoke_security_group_egress(group_name_or_id=self.group_id, ip_protocol=None, from_port=None,
                                                 to_port=None, ip_ranges=[], security_rule_ids=present)


def install() -> None:
    SecurityGroup.create_from_cloudformation_json = classmethod(create_group)
