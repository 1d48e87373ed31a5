"""Fn::Sub's ${Resource.Attribute} with an attribute name that has dots (${Database.Endpoint.Address}).

AWS (CloudFormation template reference, Fn::Sub: "To specify a resource attribute, use the syntax
${MyResource.MyAttribute}"; the attribute is everything after the logical id's first dot, so
${Database.Endpoint.Address} is Fn::GetAtt [Database, Endpoint.Address], an RDS instance's address).
moto 5.2.5 splits at every dot and asks for the attribute "Endpoint": "Template error: resource Database
does not support attribute type Endpoint in Fn::GetAtt" (the original workshop's bastion user data fails so).
"""
from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing

_original_clean_json: Any = None  # at install: what cfn_dynamic_refs made of it


def clean_json(resource_json: Any, resources_map: Any) -> Any:
    if isinstance(resource_json, dict) and isinstance(resource_json.get("Fn::GetAtt"), list) \
            and len(resource_json["Fn::GetAtt"]) > 2:
        logical_id, *attribute = resource_json["Fn::GetAtt"]
        resource_json = {**resource_json, "Fn::GetAtt": [logical_id, ".".join(map(str, attribute))]}
    return _original_clean_json(resource_json, resources_map)


def install() -> None:
    global _original_clean_json
    _original_clean_json = parsing.clean_json
    parsing.clean_json = clean_json
