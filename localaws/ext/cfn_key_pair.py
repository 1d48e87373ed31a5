"""AWS::EC2::KeyPair deploys from CloudFormation.

AWS (CloudFormation template reference, AWS::EC2::KeyPair): with PublicKeyMaterial the key is imported
(ImportKeyPair), without it EC2 creates one of KeyType; Ref returns the key name; deleting the stack
deletes the key pair. moto 5.2.5 skips the type, so an instance launched with the key has none.
"""
from __future__ import annotations

from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.ec2.models import ec2_backends


class CfnKeyPair(CloudFormationModel):
    """AWS::EC2::KeyPair: with PublicKeyMaterial the key is imported, Ref is the key name."""

    def __init__(self, account_id: str, region_name: str, key_name: str):
        self.account_id = account_id
        self.region_name = region_name
        self.key_name = key_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::EC2::KeyPair"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "KeyName"

    @property
    def physical_resource_id(self) -> str:
        return self.key_name

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnKeyPair":
        props = cloudformation_json.get("Properties", {})
        backend = ec2_backends[account_id][region_name]
        name = props.get("KeyName") or resource_name
        tags = {tag["Key"]: tag["Value"] for tag in props.get("Tags", [])}
        if props.get("PublicKeyMaterial"):
            backend.import_key_pair(name, props["PublicKeyMaterial"].encode(), tags)
        else:
            backend.create_key_pair(name, props.get("KeyType", "rsa"), tags)
        return cls(account_id, region_name, name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        ec2_backends[account_id][region_name].delete_key_pair(resource_name)

    def delete(self, account_id: str, region_name: str) -> None:
        ec2_backends[account_id][region_name].delete_key_pair(self.key_name)
