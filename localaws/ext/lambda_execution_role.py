"""Lambda takes a function's execution role only when it may assume it and act as it, as AWS does.

AWS (Lambda developer guide, "Defining Lambda function permissions with an execution role" and
"Giving Lambda functions access to resources in an Amazon VPC"; Lambda API reference, CreateFunction
errors): CreateFunction and UpdateFunctionConfiguration fail with InvalidParameterValueException
"The role defined for the function cannot be assumed by Lambda." when the role's trust policy does
not admit lambda.amazonaws.com (localaws/service_roles.py); a function attached to a VPC (VpcConfig
with subnets) is refused unless its role may create, describe and delete network interfaces
(AWSLambdaVPCAccessExecutionRole's ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces,
ec2:DeleteNetworkInterface): "The provided execution role does not have permissions to call
CreateNetworkInterface on EC2" (naming the first action missing). Through CloudFormation the
function fails to create and the stack rolls back (localaws/ext/cfn_create_failures.py).
Lambda checks as the role: the role's session is asked, so its identity policies decide
(localaws/access_keys.py, AccessKey.allows).
moto 5.2.5 only checks that the role exists.
"""
from __future__ import annotations

import re
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.utils import make_function_arn

from localaws.access_keys import AccessKey, assume_service_role
from localaws.service_roles import LAMBDA, RoleNotAssumable

NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."
# AWSLambdaVPCAccessExecutionRole's network-interface actions, in the order Lambda checks them.
NETWORK_INTERFACE_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces",
                             "ec2:DeleteNetworkInterface")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+")


def execution_role(account_id: str, region: str, role_arn: str, function_name: str) -> AccessKey:
    """The execution role's credentials as Lambda obtains them (InvalidParameterValueException if it cannot)."""
    facts = {"aws:SourceAccount": account_id, "aws:SourceArn": make_function_arn(region, account_id, function_name)}
    try:
        return assume_service_role(account_id, region, role_arn, function_name, LAMBDA, facts)
    except RoleNotAssumable:
        raise InvalidParameterValueException(NOT_ASSUMABLE) from None


def check_execution_role(account_id: str, region: str, role_arn: str | None, function_name: str,
                         vpc_config: dict[str, Any] | None) -> None:
    """What CreateFunction and UpdateFunctionConfiguration check of the role before accepting it."""
    if not role_arn or not _ROLE_ARN.match(role_arn):
        return  # moto's own validation answers a malformed role
    key = execution_role(account_id, region, role_arn, function_name)
    if vpc_config and vpc_config.get("SubnetIds"):
        for action in NETWORK_INTERFACE_ACTIONS:
            if not key.allows(account_id, region, action):
                raise InvalidParameterValueException(
                    f"The provided execution role does not have permissions to call {action.split(':', 1)[1]} on EC2")


_original_create: Any = None
_original_update: Any = None


def create_function(self: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
    check_execution_role(self.account_id, self.region_name, spec.get("Role"), spec.get("FunctionName", ""),
                         spec.get("VpcConfig"))
    return _original_create(self, spec)


def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> Any:
    if "Role" in config_updates or "VpcConfig" in config_updates:
        check_execution_role(self.account_id, self.region, config_updates.get("Role", self.role),
                             self.function_name, config_updates.get("VpcConfig", self._vpc_config))
    return _original_update(self, config_updates)


def install() -> None:
    # Wraps what is installed already (localaws/ext/lambda_runtime_lifecycle.py's runtime checks).
    global _original_create, _original_update
    _original_create = LambdaBackend.create_function
    _original_update = LambdaFunction.update_configuration
    LambdaBackend.create_function = create_function
    LambdaFunction.update_configuration = update_configuration
