"""CloudFormation's AWS::KMS::Key as the template declares it.

AWS (CloudFormation resource reference, AWS::KMS::Key): KeyPolicy is a JSON object in the template, and
GetKeyPolicy answers it as a JSON string; without KeyPolicy the key gets the default key policy (the
account root may do `kms:*`); Tags are Key/Value pairs, which ListResourceTags answers as TagKey/TagValue.
moto 5.2.5 stores the template's object as it is (GetKeyPolicy then answers a dict, off AWS's model),
fails without KeyPolicy, and fails on the template's Tags (its tagger wants TagKey/TagValue), leaving a
stack whose Fn::GetAtt on the key is an "undefined resource".
"""
from __future__ import annotations

import json
from typing import Any

from moto.kms.models import Key

_original_key_from_cloudformation = Key.create_from_cloudformation_json.__func__


def key_from_cloudformation(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                            region_name: str, **kwargs: Any) -> Key:
    properties = dict(cloudformation_json.get("Properties") or {})
    policy = properties.get("KeyPolicy")
    properties["KeyPolicy"] = json.dumps(policy) if isinstance(policy, dict) else policy  # None: moto's default
    properties["Tags"] = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties.get("Tags") or []]
    return _original_key_from_cloudformation(cls, resource_name, {**cloudformation_json, "Properties": properties},
                                             account_id, region_name, **kwargs)


def install() -> None:
    Key.create_from_cloudformation_json = classmethod(key_from_cloudformation)
