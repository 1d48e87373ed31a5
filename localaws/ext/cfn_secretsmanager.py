"""CloudFormation resource types for Secrets Manager (skipped silently by moto 5.2.5).

AWS behaviour reproduced (CloudFormation resource reference):
- AWS::SecretsManager::Secret: SecretString, or GenerateSecretString (SecretStringTemplate
  + GenerateStringKey + password options); Ref and GetAtt Id return the secret's ARN.
- AWS::SecretsManager::SecretTargetAttachment: adds the DB instance's engine, host, port
  and dbInstanceIdentifier to the secret's JSON as a new AWSCURRENT version; Ref returns
  the secret's ARN.
- AWS::SecretsManager::RotationSchedule: turns rotation on with RotationLambdaARN and
  RotationRules (AutomaticallyAfterDays, or ScheduleExpression and Duration, checked as
  RotateSecret checks them); RotateImmediatelyOnUpdate (default true) rotates at once, false only
  tests the configuration; Ref returns the secret's ARN. Deleting it turns rotation off.
- Deleting the Secret resource deletes the secret without a recovery window (DeleteSecret with
  ForceDeleteWithoutRecovery: the resource has no recovery-window property; CloudFormation's
  coverage roadmap, issues #838 and #1999: "the default deletionpolicy for an
  AWS::SecretsManager::Secret resource is force-delete-without-recovery"), so the next deployment
  may take its name; one already scheduled for deletion is deleted for good too. A name scheduled
  for deletion otherwise stays taken (secrets_deletion.py): the Secret resource then fails.
"""
from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.rds.models import rds_backends
from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends


def _backend(account_id: str, region: str) -> SecretsManagerBackend:
    return secretsmanager_backends[account_id][region]


def _generate(backend: SecretsManagerBackend, spec: dict[str, Any]) -> str:
    password = json.loads(backend.get_random_password(
        password_length=int(spec.get("PasswordLength", 32)),
        exclude_characters=spec.get("ExcludeCharacters", ""),
        exclude_numbers=bool(spec.get("ExcludeNumbers", False)),
        exclude_punctuation=bool(spec.get("ExcludePunctuation", False)),
        exclude_uppercase=bool(spec.get("ExcludeUppercase", False)),
        exclude_lowercase=bool(spec.get("ExcludeLowercase", False)),
        include_space=bool(spec.get("IncludeSpace", False)),
        require_each_included_type=bool(spec.get("RequireEachIncludedType", True)),
    ))["RandomPassword"]
    template = spec.get("SecretStringTemplate")
    if template is None:
        return password
    document = json.loads(template)
    document[spec["GenerateStringKey"]] = password
    return json.dumps(document)


class _SecretBound:
    """A resource whose identity (Ref) is a secret's ARN.

    moto finds resource types among CloudFormationModel's *direct* subclasses, so each
    type below names CloudFormationModel itself after this mixin.
    """

    def __init__(self, account_id: str, region: str, secret_arn: str):
        self.account_id = account_id
        self.region = region
        self.secret_arn = secret_arn

    @property
    def physical_resource_id(self) -> str:
        return self.secret_arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Id":
            return self.secret_arn
        raise UnformattedGetAttTemplateException()


class CfnSecret(_SecretBound, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnSecret":
        props = cloudformation_json.get("Properties", {})
        backend = _backend(account_id, region_name)
        value = props.get("SecretString")
        if value is None:
            value = _generate(backend, props.get("GenerateSecretString", {}))
        created = json.loads(backend.create_secret(
            name=props.get("Name") or resource_name,
            secret_string=value,
            secret_binary=None,
            description=props.get("Description"),
            tags=props.get("Tags"),
            kms_key_id=props.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=props.get("ReplicaRegions", []),
            force_overwrite=False,
        ))
        return cls(account_id, region_name, created["ARN"])

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_secret(
            self.secret_arn, recovery_window_in_days=None, force_delete_without_recovery=True
        )


class CfnSecretTargetAttachment(_SecretBound, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::SecretTargetAttachment"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnSecretTargetAttachment":
        props = cloudformation_json["Properties"]
        if props.get("TargetType") != "AWS::RDS::DBInstance":
            raise NotImplementedError(f"SecretTargetAttachment TargetType {props.get('TargetType')}")
        backend = _backend(account_id, region_name)
        secret = backend.secrets[props["SecretId"]]
        database = rds_backends[account_id][region_name].describe_db_instances(props["TargetId"])[0]
        document = json.loads(backend.get_secret_value(secret.arn, None, "AWSCURRENT")["SecretString"])
        document.update({
            "engine": database.engine,
            "host": database.address,
            "port": int(database.port),
            "dbInstanceIdentifier": database.db_instance_identifier,
        })
        backend.put_secret_value(secret.arn, json.dumps(document), None, None, ["AWSCURRENT"])
        return cls(account_id, region_name, secret.arn)


class CfnRotationSchedule(_SecretBound, CloudFormationModel):
    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::RotationSchedule"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnRotationSchedule":
        props = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        secret = backend.secrets[props["SecretId"]]
        rules = props.get("RotationRules", {})
        backend.rotate_secret(
            secret.arn,
            rotation_lambda_arn=props.get("RotationLambdaARN"),
            rotation_rules={key: (int(value) if key == "AutomaticallyAfterDays" else value)
                            for key, value in rules.items()} or None,
            rotate_immediately=str(props.get("RotateImmediatelyOnUpdate", True)).lower() == "true",
        )
        return cls(account_id, region_name, secret.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _backend(account_id, region_name)
        if backend._is_valid_identifier(self.secret_arn):
            backend.cancel_rotate_secret(self.secret_arn)
