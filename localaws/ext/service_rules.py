"""What AWS's services refuse at create (and delete) time, refused the same way, with AWS's error.

Each rule is checked in the service's backend, so the API and CloudFormation (whose resource
handlers call the same backend) refuse alike; a resource CloudFormation cannot create fails
its stack with the service's message (cfn_create_failures.py). Every rule, with where its data
and its text come from, is in RULES (and in the team's notes through `python -m
localaws.ext.service_rules`).

- ECS RegisterTaskDefinition, Fargate: the task's cpu and memory must be one of Fargate's
  configurations (ClientException "No Fargate configuration exists for given values: 256 CPU,
  4096 memory. See the Amazon ECS documentation for the valid values."). The combinations are
  cfn-lint's rule E3047 data (cfnlint/data/schemas/extensions/aws_ecs_taskdefinition/
  fargate_cpu_memory.json), which follows the ECS developer guide's "Task CPU and memory" table.
  A Fargate task definition without task-level cpu or memory is refused first ("Fargate requires
  that 'cpu' be defined at the task level.", the same for 'memory').
- RDS CreateDBSubnetGroup / ModifyDBSubnetGroup: the subnets must cover at least two
  availability zones (DBSubnetGroupDoesNotCoverEnoughAZs, "The DB subnet group doesn't meet
  Availability Zone (AZ) coverage requirement. Current AZ coverage: us-east-1a. Add subnets to
  cover at least 2 AZs."; RDS user guide, "Working with a DB instance in a VPC": "Each DB subnet
  group should have subnets in at least two Availability Zones").
- RDS DeleteDBInstance: an instance with DeletionProtection refuses (InvalidParameterCombination,
  "Cannot delete protected DB Instance, please disable deletion protection and try again.").
  moto 5.2.5 has this rule for the API; CloudFormation's DBInstance lost the property, which
  cfn_resource_types.py keeps.
- Secrets Manager RotateSecret: RotationRules takes AutomaticallyAfterDays or ScheduleExpression,
  not both (InvalidParameterException "You cannot specify both rotation frequency and schedule
  expression together."); a rate() expression is a positive whole number of hour(s) or day(s), at
  least four hours, at most 999 days ("You can rotate a secret as often as every four hours";
  Secrets Manager user guide, "Rotation schedules"). Its refusal is InvalidParameterException;
  AWS's exact wording for it was not found in any public source: the text here says the rule.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from moto.ecs.exceptions import EcsClientException
from moto.ecs.models import EC2ContainerServiceBackend
from moto.rds.exceptions import RDSClientError
from moto.rds.models import RDSBackend

from localaws import cfnlint_data


@dataclass(frozen=True)
class Rule:
    service: str
    operation: str  # the API call refused (CloudFormation's resource handler calls the same)
    error: str  # the error code AWS answers
    rule: str
    data: str  # where the rule's data comes from
    text: str  # where the error's wording comes from


RULES = (
    Rule("ecs", "RegisterTaskDefinition (AWS::ECS::TaskDefinition)", "ClientException",
         "Fargate task cpu/memory must be one of Fargate's configurations",
         "cfn-lint E3047: cfnlint/data/schemas/extensions/aws_ecs_taskdefinition/fargate_cpu_memory.json",
         "AWS answers quoted in aws-cloudformation/cfn-lint#3453 and towardsthecloud/aws-cdk-examples#1; "
         "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html"),
    Rule("ecs", "RegisterTaskDefinition (AWS::ECS::TaskDefinition)", "ClientException",
         "a Fargate task definition has task-level cpu and memory",
         "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#task_size",
         "AWS answers quoted in hackoregon/civic-devops#246 (\"Fargate requires that 'cpu' be defined at the task "
         "level.\") and in public troubleshooting notes (the same for 'memory')"),
    Rule("rds", "CreateDBSubnetGroup, ModifyDBSubnetGroup (AWS::RDS::DBSubnetGroup)",
         "DBSubnetGroupDoesNotCoverEnoughAZs", "a DB subnet group's subnets cover at least 2 availability zones",
         "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html",
         "AWS's exception quoted in aws-cloudformation/aws-cloudformation-resource-providers-rds#189"),
    Rule("rds", "DeleteDBInstance (AWS::RDS::DBInstance deletion)", "InvalidParameterCombination",
         "an instance with DeletionProtection is not deleted",
         "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_DeleteInstance.html#USER_DeletionProtection",
         "moto 5.2.5's RDS backend (as AWS words it)"),
    Rule("secretsmanager", "RotateSecret (AWS::SecretsManager::RotationSchedule)", "InvalidParameterException",
         "RotationRules: AutomaticallyAfterDays or ScheduleExpression, not both",
         "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html",
         "AWS's answer quoted in hashicorp/terraform-provider-aws#33329"),
    Rule("secretsmanager", "RotateSecret (AWS::SecretsManager::RotationSchedule)", "InvalidParameterException",
         "rate() schedule: whole hours or days, at least 4 hours, at most 999 days",
         "https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html",
         "not found publicly: the local AWS's own wording of the documented rule"),
    # The generic layers: every request, every resource (localaws/ext/request_validation.py,
    # cfn_property_validation.py)
    Rule("secretsmanager, lambda, logs, kms, ssm, iam, sts, cloudformation, ecr", "every operation",
         "ValidationException / ValidationError / InvalidParameterException (request_validation.SERVICES)",
         "each member of the request within its input shape's min/max length or value, enum, pattern, required",
         "botocore's service models (service-2.json, pinned with botocore)",
         "AWS's answers quoted in public issues, listed with each service in request_validation.SERVICES"),
    Rule("cloudformation", "CreateStack, UpdateStack (every resource type with a registry schema)", "CREATE_FAILED",
         "each resource's resolved properties within its type's schema for the region (type, lengths, range, "
         "enum, pattern, required and unknown keys)",
         "cfn-lint's registry schemas: cfnlint/data/schemas/providers/<region>.json and providers/resources/",
         "\"Properties validation failed for resource X with message: #/Prop: ...\", answers quoted in public "
         "repositories; re:Post knowledge center cloudformation-resolve-model-val-failed"),
    # CloudFormation's own (localaws/ext/cfn_resource_types.py, cfn_create_failures.py)
    Rule("cloudformation", "CreateStack", "ValidationError",
         "a resource type CloudFormation does not have in the region refuses the template",
         "cfn-lint's provider lists: cfnlint/data/schemas/providers/<region>.json",
         "AWS's answers quoted in public repositories (\"Template format error: Unrecognized resource types: "
         "[AWS::Timestream::Table, AWS::Timestream::Database]\")"),
    Rule("cloudformation", "CreateStack (a type AWS has, the local AWS cannot create)", "CREATE_FAILED",
         "the resource fails with \"not supported offline: TYPE\" (never a silent skip)",
         "moto's CloudFormation model map after localaws.ext", "the local AWS's own"),
    Rule("cloudformation", "CreateStack OnFailure DO_NOTHING / DisableRollback", "CREATE_FAILED",
         "no rollback: the stack stays CREATE_FAILED with the resources made (OnFailure DELETE: all deleted, "
         "the stack too)",
         "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html",
         "\"The following resource(s) failed to create: [X]. \" (CloudFormation user guide, troubleshooting)"),
)


# --- ECS: Fargate task sizes, from cfn-lint's data

FARGATE_DATA = "schemas/extensions/aws_ecs_taskdefinition/fargate_cpu_memory.json"  # in cfn-lint's data


@lru_cache(maxsize=1)
def fargate_configurations() -> tuple[tuple[int, dict[str, Any]], ...]:
    """(cpu units, the memory constraint for it in MiB: enum, or minimum/maximum/multipleOf)."""
    document = json.loads((cfnlint_data.folder() / FARGATE_DATA).read_text())
    sizes: list[tuple[int, Any]] = []
    for branch in document["then"]["anyOf"]:
        cpu = branch["properties"]["Cpu"]["then"]["enum"]
        memory = branch["properties"]["Memory"]["then"]
        sizes.extend((int(value), memory) for value in cpu)
    return tuple(sizes)


def _units(value: Any, unit: str) -> int | None:
    """ECS takes cpu as units or "N vCPU", memory as MiB or "N GB"."""
    text = str(value).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    match = re.fullmatch(rf"(\d*\.?\d+)\s*{unit}", text, re.IGNORECASE)
    return round(float(match.group(1)) * 1024) if match else None


def _fits(memory: int, constraint: dict[str, Any]) -> bool:
    if "enum" in constraint:
        return memory in [int(value) for value in constraint["enum"]]
    return (constraint.get("minimum", 0) <= memory <= constraint.get("maximum", memory)
            and memory % constraint.get("multipleOf", 1) == 0)


def fargate_size_exists(cpu: Any, memory: Any) -> bool:
    cpu_units, memory_mib = _units(cpu, "vcpu"), _units(memory, "gb")
    return any(cpu_units == size and memory_mib is not None and _fits(memory_mib, constraint)
               for size, constraint in fargate_configurations())


_original_register = EC2ContainerServiceBackend.register_task_definition


def register_task_definition(self: EC2ContainerServiceBackend, family: str, container_definitions: Any,
                             *args: Any, **kwargs: Any) -> Any:
    compatibilities = kwargs.get("requires_compatibilities") or []
    cpu, memory = kwargs.get("cpu"), kwargs.get("memory")
    if "FARGATE" in compatibilities:
        for name, value in (("cpu", cpu), ("memory", memory)):
            if value is None:
                raise EcsClientException(f"Fargate requires that '{name}' be defined at the task level.")
    if "FARGATE" in compatibilities and not fargate_size_exists(cpu, memory):
        raise EcsClientException(f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
                                 "See the Amazon ECS documentation for the valid values.")
    return _original_register(self, family, container_definitions, *args, **kwargs)


# --- RDS: DB subnet groups span two availability zones

MINIMUM_ZONES = 2


def _check_zone_coverage(subnets: list[Any]) -> None:
    zones = sorted({subnet.availability_zone for subnet in subnets})
    if len(zones) < MINIMUM_ZONES:
        raise RDSClientError(
            "DBSubnetGroupDoesNotCoverEnoughAZs",
            "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. "
            f"Current AZ coverage: {', '.join(zones)}. Add subnets to cover at least {MINIMUM_ZONES} AZs.")


_original_create_subnet_group = RDSBackend.create_subnet_group
_original_modify_subnet_group = RDSBackend.modify_db_subnet_group


def create_subnet_group(self: RDSBackend, subnet_name: str, description: str, subnets: list[Any],
                        *args: Any, **kwargs: Any) -> Any:
    _check_zone_coverage(subnets)
    return _original_create_subnet_group(self, subnet_name, description, subnets, *args, **kwargs)


def modify_db_subnet_group(self: RDSBackend, subnet_name: str, description: str, subnets: list[Any]) -> Any:
    if subnets:
        _check_zone_coverage(subnets)
    return _original_modify_subnet_group(self, subnet_name, description, subnets)


# --- Secrets Manager: rotation rules

RATE = re.compile(r"rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)")
MINIMUM_HOURS, MAXIMUM_DAYS = 4, 999


def rotation_rules_problem(rules: dict[str, Any] | None) -> str | None:
    """Why Secrets Manager refuses these RotationRules (None: it takes them)."""
    rules = rules or {}
    expression = rules.get("ScheduleExpression")
    if expression is not None and rules.get("AutomaticallyAfterDays") is not None:
        return "You cannot specify both rotation frequency and schedule expression together."
    if expression is None or not str(expression).startswith("rate("):
        return None
    match = RATE.fullmatch(str(expression).strip())
    if not match:
        return f"Invalid ScheduleExpression {expression}: a rate expression is rate(Value Unit), " \
               "Value a positive integer and Unit hour, hours, day or days."
    value, unit = int(match.group(1)), match.group(2)
    hours = value if unit.startswith("hour") else value * 24
    if value < 1 or hours < MINIMUM_HOURS:
        return f"Invalid ScheduleExpression {expression}: the rotation interval must be at least {MINIMUM_HOURS} hours."
    if hours > MAXIMUM_DAYS * 24:
        return f"Invalid ScheduleExpression {expression}: the rotation interval can be at most {MAXIMUM_DAYS} days."
    return None


def rate_interval_seconds(expression: str) -> int | None:
    match = RATE.fullmatch(expression.strip())
    if not match:
        return None
    return int(match.group(1)) * (3600 if match.group(2).startswith("hour") else 86400)


def install() -> None:
    EC2ContainerServiceBackend.register_task_definition = register_task_definition
    RDSBackend.create_subnet_group = create_subnet_group
    RDSBackend.modify_db_subnet_group = modify_db_subnet_group


if __name__ == "__main__":
    for rule in RULES:
        print(f"{rule.service} {rule.operation}: {rule.rule} -> {rule.error}\n  data: {rule.data}\n  text: {rule.text}")
