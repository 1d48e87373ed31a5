"""A service invokes a Lambda function only when the function's resource-based policy lets it.

AWS (Lambda developer guide, "Granting function access to AWS services"; Secrets Manager user
guide, "Lambda rotation function permissions"): Secrets Manager invokes a rotation function as
the service principal `secretsmanager.amazonaws.com`; the function's policy (AddPermission,
AWS::Lambda::Permission) must allow that principal `lambda:InvokeFunction`, and when the
statement has conditions they must hold: `AWS:SourceAccount` the secret's account,
`AWS:SourceArn` the secret's ARN. Without it RotateSecret fails with AccessDeniedException:
"Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy
grants access to the principal secretsmanager.amazonaws.com." (secrets_rotation.py says so).
moto 5.2.5 stores the policy and never reads it.
"""
from __future__ import annotations

from moto.awslambda.models import LambdaFunction

from localaws.resource_policies import service_allowed


def service_may_invoke(function: LambdaFunction, service: str, source_account: str, source_arn: str) -> bool:
    """Whether the function's policy allows `service` to invoke it on behalf of `source_arn`."""
    statements = getattr(function.policy, "statements", None) or []
    return service_allowed(statements, service, "lambda:InvokeFunction", None,
                           {"aws:SourceAccount": source_account, "aws:SourceArn": source_arn})
