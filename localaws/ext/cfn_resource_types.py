"""Resource types a workshop may use deploy through CloudFormation as in AWS; the others say so.

AWS (CloudFormation template reference):
- AWS::RDS::DBParameterGroup: Ref returns the group's name, which a DBInstance's
  DBParameterGroupName takes; Parameters is a map of name to value.
- AWS::RDS::OptionGroup: EngineName, MajorEngineVersion, OptionGroupDescription,
  OptionConfigurations; Ref returns its name, which a DBInstance's OptionGroupName takes.
- AWS::RDS::DBInstance DeletionProtection: the instance refuses DeleteDBInstance (so a stack
  deletion ends DELETE_FAILED, the instance kept) until it is turned off.
- AWS::SSM::Parameter: without Name, CloudFormation generates one.
- AWS::SSM::Parameter Fn::GetAtt Type and Value; AWS::Logs::LogGroup Fn::GetAtt Arn ends in ":*"
  ("arn:aws:logs:us-west-1:123456789012:log-group:/mystack-testgroup-12ABC1AHYI4LF:*").
- AWS::ECR::Repository: without RepositoryName, CloudFormation generates one ECR takes (lower case:
  ECR's repositoryName pattern has no capitals).
- CreateStack refuses a template with a type CloudFormation does not know ("Template format
  error: Unrecognized resource types: [...]"), before creating anything; the types it knows are
  cfn-lint's provider list for the region (cfnlint/data/schemas/providers/<region>.json).
moto 5.2.5: a DBParameterGroup's Ref is the model itself, so a DBInstance using it fails
("'DBParameterGroup' object has no attribute 'startswith'"); OptionGroup has no model, and
like every type moto has no model for it is skipped silently (CREATE_COMPLETE, nothing made,
a Ref to it None); a DBInstance loses DeletionProtection and OptionGroupName; an SSM parameter
without Name fails ("'NoneType' object has no attribute 'lower'"); a repository without a name gets
one with capitals, which ECR refuses; an SSM parameter has no Fn::GetAtt (a template's Outputs all
vanish when one asks for it) and a log group's Arn lacks ":*".
Offline, a type AWS knows but the local AWS cannot create fails its resource with "not supported
offline: TYPE" (the stack then rolls back, or stays CREATE_FAILED with OnFailure DO_NOTHING); an
UpdateStack bringing one is refused with that message (ValidationError), the stack unchanged.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.core.common_models import CloudFormationModel
from moto.rds.models import DBInstance, DBParameterGroup, rds_backends
from moto.logs.models import LogGroup
from moto.ssm.models import Parameter

from localaws import cfnlint_data


class UnsupportedOffline(Exception):
    """A type AWS creates and the local AWS cannot: its resource fails with this message."""

    def __init__(self, resource_type: str):
        super().__init__(f"not supported offline: {resource_type}")
        self.message = str(self)


@lru_cache(maxsize=None)
def aws_resource_types(region: str) -> frozenset[str]:
    """The resource types CloudFormation has in the region, as cfn-lint's provider list has them."""
    providers = cfnlint_data.folder() / "schemas" / "providers"
    path = providers / f"{region}.json"
    return frozenset(json.loads((path if path.exists() else providers / "us-east-1.json").read_text()))


_original_class_from_type = parsing.resource_class_from_type


def resource_class_from_type(resource_type: str) -> Any:
    found = _original_class_from_type(resource_type)
    if found is None and resource_type not in parsing.NULL_MODELS:
        raise UnsupportedOffline(resource_type)
    return found


def unrecognized_types(template: dict[str, Any], region: str) -> list[str]:
    known = aws_resource_types(region)
    types = {resource.get("Type") for resource in (template.get("Resources") or {}).values()
             if isinstance(resource, dict)}
    return sorted(str(kind) for kind in types if kind and not str(kind).startswith("Custom::")
                  and kind not in known and kind not in parsing.NULL_MODELS)


_original_create_stack = CloudFormationBackend.create_stack


def create_stack(self: CloudFormationBackend, name: str, template: str, *args: Any, **kwargs: Any) -> Any:
    try:
        document = Stack.parse_template(template)
    except Exception:  # noqa: BLE001 - moto's own parse answers a malformed template
        document = None
    # A Transform (SAM's) brings types of its own: only a template without one is checked.
    unknown = unrecognized_types(document, self.region_name) \
        if isinstance(document, dict) and not document.get("Transform") else []
    if unknown:
        raise ValidationError(message=f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]")
    return _original_create_stack(self, name, template, *args, **kwargs)


_original_update_stack = CloudFormationBackend.update_stack


def update_stack(self: CloudFormationBackend, name: str, template: str, *args: Any, **kwargs: Any) -> Any:
    """The same refusal for an update; a type the local AWS cannot create refuses the whole update
    (moto updates without rollback: a half-updated stack would say nothing)."""
    try:
        document = Stack.parse_template(template)
    except Exception:  # noqa: BLE001 - moto's own parse answers a malformed template
        document = None
    if isinstance(document, dict) and not document.get("Transform"):
        unknown = unrecognized_types(document, self.region_name)
        if unknown:
            raise ValidationError(message=f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]")
        kinds = {str(resource.get("Type")) for resource in (document.get("Resources") or {}).values()
                 if isinstance(resource, dict)}
        missing = sorted(kind for kind in kinds if not kind.startswith("Custom::")
                         and kind not in parsing.NULL_MODELS and kind not in parsing.get_model_map())
        if missing:
            raise ValidationError(message=f"not supported offline: {', '.join(missing)}")
    return _original_update_stack(self, name, template, *args, **kwargs)


# --- RDS

def _parameter_group_id(self: DBParameterGroup) -> str:
    return self.name


class CfnOptionGroup(CloudFormationModel):
    def __init__(self, account_id: str, region: str, name: str):
        self.account_id, self.region, self.name = account_id, region, name

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::OptionGroup"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "OptionGroupName"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnOptionGroup":
        props = cloudformation_json.get("Properties", {})
        backend = rds_backends[account_id][region_name]
        group = backend.create_option_group({
            "option_group_name": resource_name.lower(),
            "engine_name": props.get("EngineName"),
            "major_engine_version": str(props.get("MajorEngineVersion")),
            "option_group_description": props.get("OptionGroupDescription"),
            "tags": props.get("Tags"),
        })
        group.add_options([{"OptionName": option["OptionName"], "OptionSettings": option.get("OptionSettings", [])}
                           for option in props.get("OptionConfigurations") or []])
        return cls(account_id, region_name, group.name)

    def delete(self, account_id: str, region_name: str) -> None:
        rds_backends[account_id][region_name].delete_option_group(self.name)


_original_instance_from_cfn: Any = None  # at install: what rds_databases made of it


def instance_from_cloudformation(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                                 region_name: str, **kwargs: Any) -> DBInstance:
    props = cloudformation_json.get("Properties", {})
    option_group = props.get("OptionGroupName")
    if option_group and option_group not in rds_backends[account_id][region_name].option_groups:
        from moto.rds.exceptions import OptionGroupNotFoundFaultError
        raise OptionGroupNotFoundFaultError(option_group)
    database = _original_instance_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    database.deletion_protection = str(props.get("DeletionProtection", False)).lower() == "true"
    if option_group:
        database.option_group_name = option_group
        database.option_group_supplied = True
    return database


# --- SSM

_original_parameter_from_cfn = Parameter.create_from_cloudformation_json.__func__


def parameter_from_cloudformation(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                                  region_name: str, **kwargs: Any) -> Parameter:
    props = cloudformation_json.setdefault("Properties", {})
    if not props.get("Name"):
        props["Name"] = resource_name  # the name CloudFormation made up for it
    return _original_parameter_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


def parameter_has_attribute(cls: type, attr: str) -> bool:
    return attr in ("Type", "Value")


def parameter_attribute(self: Parameter, attribute_name: str) -> Any:
    if attribute_name == "Type":
        return self.parameter_type
    if attribute_name == "Value":
        return self.value
    raise UnformattedGetAttTemplateException()


# --- CloudWatch Logs

def log_group_attribute(self: LogGroup, attribute_name: str) -> Any:
    if attribute_name == "Arn":
        return f"{self.arn}:*"
    raise UnformattedGetAttTemplateException()


# --- ECR

_original_generate_name = parsing.generate_resource_name


def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
    name = _original_generate_name(resource_type, stack_name, logical_id)
    return name.lower() if resource_type == "AWS::ECR::Repository" else name


def install() -> None:
    parsing.resource_class_from_type = resource_class_from_type
    parsing.generate_resource_name = generate_resource_name
    Parameter.has_cfn_attr = classmethod(parameter_has_attribute)
    Parameter.get_cfn_attribute = parameter_attribute
    LogGroup.get_cfn_attribute = log_group_attribute
    CloudFormationBackend.create_stack = create_stack
    CloudFormationBackend.update_stack = update_stack
    DBParameterGroup.physical_resource_id = property(_parameter_group_id)
    global _original_instance_from_cfn
    _original_instance_from_cfn = DBInstance.create_from_cloudformation_json.__func__
    DBInstance.create_from_cloudformation_json = classmethod(instance_from_cloudformation)
    Parameter.create_from_cloudformation_json = classmethod(parameter_from_cloudformation)
