"""Which AWS service may act as which role: the role's trust policy decides, as in AWS.

AWS (IAM user guide, "Create a role to delegate permissions to an AWS service" and "IAM JSON policy
elements: Principal"): a service acts as a role only when the role's trust policy
(AssumeRolePolicyDocument) has a statement allowing sts:AssumeRole to the service's principal
(`lambda.amazonaws.com` for a function's execution role, `ecs-tasks.amazonaws.com` for a task's
execution and task roles, `ec2.amazonaws.com` for an instance profile's role); an explicit Deny wins,
and a statement's conditions must hold for what the service tells about the request
(aws:SourceAccount, aws:SourceArn; a condition on a key the service does not send does not hold).
Every service of the local AWS asks this one function (localaws/access_keys.py's
assume_service_role does), then acts with the role's temporary credentials, so IAM evaluates the
role's own policies.
"""
from __future__ import annotations

import json

from localaws.resource_policies import decision, policy_statements

LAMBDA = "lambda.amazonaws.com"
ECS_TASKS = "ecs-tasks.amazonaws.com"
EC2 = "ec2.amazonaws.com"


class RoleNotAssumable(Exception):
    """The role does not exist, or its trust policy does not let the service assume it."""

    def __init__(self, role_arn: str, service: str):
        super().__init__(f"{service} may not assume {role_arn}")
        self.role_arn = role_arn
        self.service = service


def service_may_assume(account_id: str, region: str, role_arn: str, service: str,
                       facts: dict[str, str] | None = None) -> bool:
    """Whether the trust policy of `role_arn` lets `service` assume it, given the request's `facts`."""
    from moto.iam.models import iam_backends  # the server's: the suite, which imports this module too, never calls it
    from moto.utilities.utils import get_partition

    try:
        role = iam_backends[account_id][get_partition(region)].get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - moto's IAMNotFoundException, or an ARN of another account
        return False
    document = role.assume_role_policy_document
    try:
        statements = policy_statements(document if isinstance(document, (str, bytes)) else json.dumps(document))
    except ValueError:
        return False
    return decision(statements, service, "sts:AssumeRole", None, dict(facts or {})) == "Allow"
