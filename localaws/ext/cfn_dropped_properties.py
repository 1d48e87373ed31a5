"""Properties CloudFormation gives a resource and moto drops: the template's Tags of an internet
gateway, a route table, a VPC endpoint, an ECS cluster and a Lambda function, a role's
ManagedPolicyArns, and the Description of a security group's ingress rules.

AWS (CloudFormation template reference: AWS::EC2::InternetGateway, AWS::EC2::RouteTable,
AWS::EC2::VPCEndpoint, AWS::ECS::Cluster, AWS::Lambda::Function "Tags"; AWS::IAM::Role
"ManagedPolicyArns — A list of Amazon Resource Names (ARNs) of the IAM managed policies that you want
to attach to the role"; AWS::EC2::SecurityGroup Ingress and AWS::EC2::SecurityGroupIngress
"Description"): the resource carries the tags (DescribeInternetGateways, DescribeClusters with TAGS,
ListTags, ...), the role has the policies attached (ListAttachedRolePolicies), so IAM grants what they
allow, and each rule its description (DescribeSecurityGroups, as UpdateSecurityGroupRuleDescriptionsIngress
sets it).
moto 5.2.5's models read none of them (a rule's description only beside a CidrIp of an
AWS::EC2::SecurityGroupIngress) (the stack's own tags still reach them: cfn_stack_tags.py); found
by localaws/ext/modelled_properties.py's table, which now vouches for them.
"""
from __future__ import annotations

from typing import Any, Callable

from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models import ec2_backends
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.security_groups import SecurityGroup, SecurityGroupIngress
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ecs.models import Cluster, ecs_backends
from moto.iam.models import Role, iam_backends
from moto.utilities.utils import get_partition


def _tags(cloudformation_json: Any) -> dict[str, str]:
    return {str(tag["Key"]): str(tag["Value"])
            for tag in (cloudformation_json.get("Properties") or {}).get("Tags") or []}


def _ec2_tagged(resource: Any, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    for key, value in _tags(cloudformation_json).items():
        resource.add_tag(key, value)


def _cluster_tagged(cluster: Any, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    tags = _tags(cloudformation_json)
    if tags:
        ecs_backends[account_id][region_name].tag_resource(cluster.arn, tags)


def _function_tagged(function: Any, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    tags = _tags(cloudformation_json)
    if tags:
        lambda_backends[account_id][region_name].tag_resource(function.function_arn, tags)


def _policies_attached(role: Any, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    backend = iam_backends[account_id][get_partition(region_name)]
    for arn in (cloudformation_json.get("Properties") or {}).get("ManagedPolicyArns") or []:
        backend.attach_role_policy(arn, role.name)


def _described(backend: Any, group_id: str, rule: dict[str, Any]) -> None:
    """One ingress rule's Description, on the rule its other properties made."""
    note = rule.get("Description")
    if not note:
        return
    if rule.get("CidrIp"):
        backend.update_security_group_rule_descriptions_ingress(
            group_id, rule.get("IpProtocol"), rule.get("FromPort"), rule.get("ToPort"),
            [{"CidrIp": rule["CidrIp"], "Description": note}])
    if rule.get("SourceSecurityGroupId"):
        # moto's update compares the whole source-group entry, description included, so never finds
        # the rule: set it on the rule itself.
        for made in backend.get_security_group_by_name_or_id(group_id).ingress_rules:
            same = [(made.source_group.get("GroupId"), rule["SourceSecurityGroupId"]),
                    (made.ip_protocol, rule.get("IpProtocol")), (made.from_port, rule.get("FromPort")),
                    (made.to_port, rule.get("ToPort"))]
            if all(str(have) == str(want) for have, want in same):
                made.source_group["Description"] = note


def _group_rules_described(group: Any, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    for rule in (cloudformation_json.get("Properties") or {}).get("SecurityGroupIngress") or []:
        _described(ec2_backends[account_id][region_name], group.id, rule)


def _rule_described(ingress: Any, cloudformation_json: Any, account_id: str, region_name: str) -> None:
    properties = cloudformation_json.get("Properties") or {}
    if properties.get("GroupId"):
        _described(ec2_backends[account_id][region_name], properties["GroupId"], properties)


def _after_create(model: type, then: Callable[[Any, Any, str, str], None]) -> None:
    """The model's CloudFormation create (as installed so far), followed by `then` on what it made."""
    original = model.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
               **kwargs: Any) -> Any:
        made = original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        then(made, cloudformation_json, account_id, region_name)
        return made

    model.create_from_cloudformation_json = classmethod(create)  # type: ignore[attr-defined]


def install() -> None:
    for model in (InternetGateway, RouteTable, VPCEndPoint):
        _after_create(model, _ec2_tagged)
    _after_create(Cluster, _cluster_tagged)
    _after_create(LambdaFunction, _function_tagged)
    _after_create(Role, _policies_attached)
    _after_create(SecurityGroup, _group_rules_described)
    _after_create(SecurityGroupIngress, _rule_described)
