"""A VPC endpoint's DNS names and its Fn::GetAtt attributes, as AWS gives them.

AWS (VPC API reference, VpcEndpoint.DnsEntries; PrivateLink guide, "DNS hostnames": an interface
endpoint has a regional name `vpce-ID-SUFFIX.SERVICE.REGION.vpce.amazonaws.com`, one zonal name per
subnet's zone `vpce-ID-SUFFIX-ZONE.SERVICE.REGION.vpce.amazonaws.com`, and, with private DNS on, the
service's own name `SERVICE.REGION.amazonaws.com` in a private hosted zone; a gateway endpoint has none.
CloudFormation template reference, AWS::EC2::VPCEndpoint return values: Fn::GetAtt Id, CreationTimestamp,
DnsEntries (each "HOSTEDZONEID:DNSNAME", regional first), NetworkInterfaceIds).
moto 5.2.5 gives one name, `vpce-ID-SUFFIX.com.amazonaws.REGION.SERVICE` (the service name as a suffix),
and no Fn::GetAtt at all (None: a template using one loses its outputs).
"""
from __future__ import annotations

import random
import string
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.ec2.models import EC2Backend
from moto.ec2.models.vpcs import VPCEndPoint

_original_create = EC2Backend.create_vpc_endpoint


def _suffix(length: int) -> str:
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=length))


def dns_entries(backend: EC2Backend, endpoint: VPCEndPoint, zone_id: str) -> list[dict[str, str]]:
    service = endpoint.service_name.split(".", 3)[-1]  # com.amazonaws.REGION.SERVICE -> SERVICE
    region = backend.region_name
    stem = f"{endpoint.id}-{_suffix(8)}"
    # moto's own keys, which its answers serialize as DnsName and HostedZoneId.
    entries = [{"dns_name": f"{stem}.{service}.{region}.vpce.amazonaws.com", "hosted_zone_id": zone_id}]
    zones = sorted({backend.get_subnet(subnet_id).availability_zone for subnet_id in endpoint.subnet_ids or []})
    entries += [{"dns_name": f"{stem}-{zone}.{service}.{region}.vpce.amazonaws.com", "hosted_zone_id": zone_id}
                for zone in zones]
    if endpoint.private_dns_enabled:
        entries.append({"dns_name": f"{service}.{region}.amazonaws.com", "hosted_zone_id": "Z" + _suffix(20).upper()})
    return entries


def create_vpc_endpoint(self: EC2Backend, *args: Any, **kwargs: Any) -> VPCEndPoint:
    endpoint = _original_create(self, *args, **kwargs)
    if endpoint.dns_entries:  # an interface endpoint: moto's one name gives the zone id of the regional name
        endpoint.dns_entries = dns_entries(self, endpoint, endpoint.dns_entries[0]["hosted_zone_id"])
    return endpoint


def has_cfn_attr(cls: type, attr: str) -> bool:
    return attr in ("Id", "CreationTimestamp", "DnsEntries", "NetworkInterfaceIds")


def get_cfn_attribute(self: VPCEndPoint, attribute_name: str) -> Any:
    if attribute_name == "Id":
        return self.id
    if attribute_name == "CreationTimestamp":
        return self.creation_timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if attribute_name == "DnsEntries":
        return [f"{entry['hosted_zone_id']}:{entry['dns_name']}" for entry in self.dns_entries or []]
    if attribute_name == "NetworkInterfaceIds":
        return list(self.network_interface_ids or [])
    raise UnformattedGetAttTemplateException()


def install() -> None:
    EC2Backend.create_vpc_endpoint = create_vpc_endpoint
    VPCEndPoint.has_cfn_attr = classmethod(has_cfn_attr)
    VPCEndPoint.get_cfn_attribute = get_cfn_attribute
