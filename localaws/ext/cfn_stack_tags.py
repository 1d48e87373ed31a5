"""A stack's tags reach every resource it creates, as AWS propagates them.

AWS (CloudFormation user guide, "Resource tag"; CreateStack `Tags`): "All stack-level tags,
including automatically created tags, are propagated to resources that CloudFormation
supports" — the stack's own tags and aws:cloudformation:stack-name, stack-id and logical-id —
so the Resource Groups Tagging API finds a stack's resources by the stack's tags, and finds a
retained or leaked one after the stack is gone.
moto 5.2.5 tags only EC2 resources so; an S3 bucket, a Lambda function, a secret or a role a
stack made carries only the tags its template gave it.
"""
from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation.parsing import ResourceMap
from moto.ec2.models.core import TaggedEC2Resource
from moto.resourcegroupstaggingapi.models import resourcegroupstaggingapi_backends

log = logging.getLogger("localaws.cloudformation")
_original_create = ResourceMap.create


# Types whose physical id (what Ref returns) is their ARN, and which have no Arn attribute.
ARN_IS_PHYSICAL_ID = {"AWS::SecretsManager::Secret"}


def _arn(resource: Any) -> str | None:
    if getattr(resource, "cf_resource_type", None) in ARN_IS_PHYSICAL_ID:
        return resource.physical_resource_id
    arn = getattr(resource, "arn", None)
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn
    try:
        found = resource.get_cfn_attribute("Arn")
    except Exception:  # noqa: BLE001 - a type without an Arn attribute: nothing to tag by ARN
        return None
    return found if isinstance(found, str) and found.startswith("arn:") else None


def create(self: ResourceMap, template: dict[str, Any]) -> bool:
    ready = _original_create(self, template)
    tagging = resourcegroupstaggingapi_backends[self._account_id][self._region_name]
    stack_tags = {key: value for key, value in self.tags.items() if key != "aws:cloudformation:logical-id"}
    for logical_id, resource in list(self._parsed_resources.items()):
        if isinstance(resource, (str, TaggedEC2Resource)) or resource is None:
            continue  # parameters and pseudo-parameters; EC2 resources moto tags itself
        arn = _arn(resource)
        if arn is None:
            continue
        try:
            tagging.tag_resources([arn], {**stack_tags, "aws:cloudformation:logical-id": logical_id})
        except Exception as error:  # noqa: BLE001 - a service moto cannot tag: as before
            log.debug("could not tag %s: %s", arn, error)
    return ready


def install() -> None:
    ResourceMap.create = create
