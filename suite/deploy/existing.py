"""A stack deployed already (`--stack NAME`), by anyone, from the workshop's template: read, never
created, updated or deleted.

Its outputs, parameters and tags are read with DescribeStacks, its template with GetTemplate (what
was deployed, not the folder's file).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from botocore.exceptions import ClientError

from suite.deploy.stack import StackSettings

CREATED_BY = "smdemo:created-by"
SUITE = "smdemo-verification-suite"
VERIFIABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")
# The outputs the checks read: a stack without them is not the workshop's.
REQUIRED_OUTPUTS = ("SecretArn", "SecretName", "BastionInstanceId", "DBInstanceId", "TaskDefinitionArn")


class StackNotVerifiable(Exception):
    """No such stack here, or not one the checks can read (the message says which)."""


@dataclass
class ExistingStack:
    client: Callable[[str], Any]
    region: str
    stack_name: str
    run_id: str
    outputs: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    created_at: float | None = None  # epoch seconds: CloudFormation's CreationTime

    def read(self) -> dict[str, str]:
        try:
            stacks = self.client("cloudformation").describe_stacks(StackName=self.stack_name)["Stacks"]
        except ClientError as error:
            raise StackNotVerifiable(f"stack {self.stack_name!r} is not in {self.region}: "
                                     f"{error.response['Error']['Message']}") from None
        stack = stacks[0]
        if stack["StackStatus"] not in VERIFIABLE:
            raise StackNotVerifiable(f"stack {self.stack_name!r} is {stack['StackStatus']}, not deployed")
        self.outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
        self.parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in stack.get("Parameters", [])}
        self.tags = {item["Key"]: item["Value"] for item in stack.get("Tags", [])}
        self.created_at = stack["CreationTime"].timestamp() if stack.get("CreationTime") else None
        lacking = [name for name in REQUIRED_OUTPUTS if name not in self.outputs]
        if lacking:
            raise StackNotVerifiable(f"stack {self.stack_name!r} lacks the workshop's outputs {lacking}: "
                                     f"is it made from the workshop's template?")
        return self.outputs

    @property
    def deployed_by_the_suite(self) -> bool:
        return self.tags.get(CREATED_BY) == SUITE

    @property
    def settings(self) -> StackSettings:
        """The deployment's settings as the checks read them (the stack's own parameters)."""
        return StackSettings(stack_name=self.stack_name, secret_name=self.outputs.get("SecretName", ""),
                             name_prefix=self.parameters.get("NamePrefix", ""), run_id=self.run_id)

    def template_text(self) -> str:
        """The template the stack was created from, as CloudFormation holds it."""
        body = self.client("cloudformation").get_template(StackName=self.stack_name,
                                                          TemplateStage="Original")["TemplateBody"]
        return body if isinstance(body, str) else json.dumps(body)  # boto3 parses a JSON template

    def template_identity(self) -> str:
        return (f"GetTemplate of stack {self.stack_name} sha256 "
                f"{hashlib.sha256(self.template_text().encode()).hexdigest()}")
