"""What a stack asks for that the local AWS does not model is written down, never silently accepted.

AWS applies every property a resource is given. moto 5.2.5 reads some properties of each type
and drops the others without a word (the stack is CREATE_COMPLETE all the same), and skips the
types it has no model for in parsing.NULL_MODELS (AWS::CloudFormation::WaitCondition[Handle]).
Here, as CloudFormation creates or updates each resource, its properties (with parameters,
conditions and AWS::NoValue resolved) are compared with what the local AWS honours
(localaws/ext/modelled_properties.py); each one it does not honour, and each type it does not
deploy at all, is logged and appended to `not-modelled.jsonl` in the state directory, once per
stack (localaws/not_modelled.py). The suite reads that file (LocalAWS.not_modelled) and says the list in the report's
environment section and in the verdict: what offline could not prove.
"""
from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation import parsing

from localaws.ext.modelled_properties import Where, not_honoured
from localaws.not_modelled import record

NOT_DEPLOYED = "(not deployed offline)"
log = logging.getLogger("localaws.not_modelled")


def settings_of(resource_json: dict[str, Any], where: Where | None = None) -> list[str]:
    """What the local AWS does not honour of one resource, as CloudFormation resolved it."""
    resource_type = str(resource_json.get("Type"))
    if resource_type in parsing.NULL_MODELS:
        return [f"{resource_type} {NOT_DEPLOYED}"]
    properties = resource_json.get("Properties")
    return sorted(set(not_honoured(resource_type, properties if isinstance(properties, dict) else {}, where)))


_original_parse_resource = parsing.parse_resource


def parse_resource(resource_json: dict[str, Any], resources_map: Any) -> Any:
    parsed = _original_parse_resource(resource_json, resources_map)
    # moto resolves the properties here (Ref, Fn::If, AWS::NoValue): what the resource is really given.
    resolved = parsed[1] if parsed else resource_json
    try:
        stack = str(resources_map["AWS::StackName"])
        where = Where(resources_map._account_id, resources_map._region_name)
        record(stack, settings_of(resolved, where))
    except Exception:  # noqa: BLE001 - the disclosure must never break a deployment
        log.exception("could not compare a resource with the modelled properties")
    return parsed


def install() -> None:
    parsing.parse_resource = parse_resource
