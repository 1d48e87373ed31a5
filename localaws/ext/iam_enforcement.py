"""IAM evaluation that matches AWS for the calls the suite makes.

AWS: Secrets Manager authorises each secret-level action against the secret's ARN
(`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX`), so a policy whose Resource
is one secret's ARN allows that secret and no other; ECR likewise authorises repository
actions against `arn:aws:ecr:REGION:ACCOUNT:repository/NAME`. A denial on a JSON-protocol service
reaches the SDK as error code `AccessDeniedException` with the message
"User: ARN is not authorized to perform: ACTION on resource: RESOURCE because no
identity-based policy allows the ACTION action" (or "... with an explicit deny ...").
Inline role policies made by CloudFormation are enforced like those made by the API, and
GetRolePolicy returns them as JSON documents.
A secret's resource policy (PutResourcePolicy) counts with the caller's identity policies
(IAM user guide, "Policy evaluation logic", same account): an explicit Deny in either wins
("... with an explicit deny in a resource-based policy"); an Allow naming the caller (its user
or role ARN, or "*") allows without an identity policy; one naming the account delegates to IAM. A role's
trust policy is read the same way ("Specifying a principal": an account's root ARN or id
delegates to the account, so any of its principals whose identity policy allows sts:AssumeRole
may assume the role); moto 5.2.5 admits only a caller named by its own ARN.
moto 5.2.5 evaluates every Secrets Manager call against "*" and answers 403 with an XML
`AccessDenied` body. CloudWatch Logs authorises CreateLogStream and PutLogEvents against the log stream's
ARN (`arn:aws:logs:REGION:ACCOUNT:log-group:GROUP:log-stream:STREAM`, so `log-group:GROUP:*` covers
them) and CreateLogGroup against `...:log-group:GROUP:log-stream:`, as AWS's denials name them;
moto 5.2.5 evaluates every Logs call against "*". Where moto names no resource for a request ("*": most
services), a statement allowing the action on any resource allows it (the action is enforced, the resource only
where the local AWS names it, as above); the action is IAM's name for it (`lambda:InvokeFunction`, not moto's
`lambda:Invoke`). Likewise a bad signature or unknown key on a JSON-protocol service
is `InvalidSignatureException` / `UnrecognizedClientException`, not moto's XML errors.
"""
from __future__ import annotations

import json
from typing import Any, Iterable

from botocore.exceptions import UnknownServiceError
from moto.core.exceptions import AccessDeniedError, InvalidClientTokenIdError, JsonRESTError, SignatureDoesNotMatchError
from moto.core.responses import BaseResponse
from moto.iam import access_control
from moto.iam.access_control import IAMRequestBase, PermissionResult
from moto.iam.models import IAMBackend, Policy
from moto.ecr.responses import ECRResponse
from moto.logs.responses import LogsResponse
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.utilities.utils import get_partition

from localaws.resource_policies import condition_holds, decision, policy_statements

_JSON_PROTOCOLS = {"json", "rest-json"}
# Actions that are not about one secret: AWS authorises them against "*".
_ACCOUNT_LEVEL = {"ListSecrets", "GetRandomPassword", "BatchGetSecretValue"}


def secret_resource(response: SecretsManagerResponse) -> str:
    """The ARN a Secrets Manager request is authorised against."""
    if response._get_action() in _ACCOUNT_LEVEL:
        return "*"
    secret_id = response._get_param("SecretId") or response._get_param("Name")
    if not secret_id:
        return "*"
    try:
        return response.backend.secrets[secret_id].arn
    except KeyError:
        if secret_id.startswith("arn:"):
            return secret_id
        partition = get_partition(response.region)
        # A secret that does not exist (yet): its ARN would start like this.
        return f"arn:{partition}:secretsmanager:{response.region}:{response.current_account}:secret:{secret_id}"


def repository_resource(response: Any) -> str:
    """ECR authorises repository actions against the repository's ARN (GetAuthorizationToken: "*")."""
    name = response._get_param("repositoryName")
    if not name:
        return "*"
    partition = get_partition(response.region)
    registry = response._get_param("registryId") or response.current_account
    return f"arn:{partition}:ecr:{response.region}:{registry}:repository/{name}"


# CloudWatch Logs actions whose resource is a log stream of one group (the rest: "*", as moto has it).
_LOG_STREAM_ACTIONS = {"CreateLogStream", "PutLogEvents", "CreateLogGroup"}


def log_stream_resource(response: Any) -> str:
    """The ARN CloudWatch Logs authorises CreateLogGroup, CreateLogStream and PutLogEvents against."""
    group = response._get_param("logGroupName")
    if response._get_action() not in _LOG_STREAM_ACTIONS or not group:
        return "*"
    stream = response._get_param("logStreamName") or ""
    partition = get_partition(response.region)
    return f"arn:{partition}:logs:{response.region}:{response.current_account}:log-group:{group}:log-stream:{stream}"


class _Denied(Exception):
    def __init__(self, explicit: bool):
        super().__init__()
        self.explicit = explicit


def _caller_principals(access_key: Any) -> list[str]:
    """How a resource policy may name the caller: its own ARN, and an assumed role's role ARN."""
    names = [access_key.arn]
    role = getattr(access_key, "_owner_role_name", None)
    if role:
        names.append(f"arn:{access_key.partition}:iam::{access_key.account_id}:role/{role}")
    return names


def _secret_policy_decision(request: IAMRequestBase, resource: str) -> str | None:
    """"Deny", "Allow" or None from the resource policy of the secret `resource` names."""
    if not resource.startswith("arn:") or ":secretsmanager:" not in resource:
        return None
    from moto.secretsmanager.models import secretsmanager_backends

    account = resource.split(":")[4]
    backend = secretsmanager_backends[account][request._region]
    # A copy of the secrets: another call may be creating one meanwhile (localaws/live_state.py).
    secret = next((s for s in list(backend.secrets.values()) if getattr(s, "arn", None) == resource), None)
    if secret is None or not getattr(secret, "policy", None):
        return None
    statements = policy_statements(secret.policy)
    key = request._access_key
    names = _caller_principals(key)
    the_account = [f"arn:{key.partition}:iam::{key.account_id}:root", key.account_id]
    facts = {"aws:PrincipalArn": names[-1], "aws:PrincipalAccount": key.account_id, "aws:SecureTransport": "true"}
    if any(decision(statements, name, request._action, resource, facts) == "Deny" for name in names + the_account):
        return "Deny"  # a Deny naming the account applies to everyone in it
    if any(decision(statements, name, request._action, resource, facts) == "Allow" for name in names):
        return "Allow"  # an Allow naming only the account delegates to IAM: the identity policy decides
    return None


def _document(policy: Any) -> str:
    """A policy's JSON document, whichever form moto holds it in."""
    if isinstance(policy, Policy):
        policy = next(version for version in policy.versions if version.is_default).document
    elif isinstance(policy, dict) and "policy_document" in policy:
        policy = policy["policy_document"]
    if isinstance(policy, bytes):
        return policy.decode()
    return policy if isinstance(policy, str) else json.dumps(policy)


def _with_conditions_decided(policy: Any, facts: dict[str, str]) -> str:
    """The policy with each conditional statement kept (its Condition met, so dropped) or left out (not met):
    moto's evaluator ignores conditions."""
    document = json.loads(_document(policy))
    kept = []
    for statement in policy_statements(json.dumps(document)):
        if isinstance(statement, dict) and statement.get("Condition"):
            if not condition_holds(statement["Condition"], facts):
                continue
            statement = {name: value for name, value in statement.items() if name != "Condition"}
        kept.append(statement)
    return json.dumps({**document, "Statement": kept})


def identity_decision(policies: Iterable[Any], action: str, resource: str,
                      facts: dict[str, str] | None = None) -> PermissionResult:
    """Identity policies as moto holds them (documents, managed policies, or the dicts CloudFormation
    makes of inline role policies): DENIED if one denies, else PERMITTED if one allows, else NEUTRAL.
    With the request's condition `facts`, a statement whose Condition does not hold for them does not apply
    (without them conditions are ignored, as moto does)."""
    decided = PermissionResult.NEUTRAL
    for policy in policies:
        if facts is not None:
            policy = _with_conditions_decided(policy, facts)
        elif isinstance(policy, dict) and "policy_document" not in policy:
            policy = json.dumps(policy)  # inline role policies created through CloudFormation are dicts
        result = access_control.IAMPolicy(policy).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return result
        if result == PermissionResult.PERMITTED:
            decided = result
    return decided


def _action_level(policy: Any) -> str:
    """The policy as it applies to a request whose resource the local AWS does not name ("*": moto authorises
    most services' actions against no ARN): an Allow of the action on any resource allows it (on AWS it would be
    evaluated against the real ARN, which the policy's Resource was written for); a Deny on a named resource
    is left out, being about some other resource as far as can be known here. The action is still checked."""
    inline = isinstance(policy, dict) and "policy_document" not in policy  # an inline role policy of a stack
    document = json.loads(json.dumps(policy) if inline else _document(policy))
    kept = []
    for statement in policy_statements(json.dumps(document)):
        if not isinstance(statement, dict):
            continue
        resources = statement.get("Resource", [])
        named = "NotResource" in statement or resources not in ("*", ["*"])
        if statement.get("Effect") == "Allow":
            statement = {name: value for name, value in statement.items() if name not in ("Resource", "NotResource")}
            kept.append({**statement, "Resource": "*"})
        elif not named:
            kept.append(statement)
    return json.dumps({**document, "Statement": kept})


# moto names a request's action "<SigV4 signing name>:<operation>"; where IAM's action differs, AWS's name (Service
# Authorization Reference: the Invoke API is authorized as lambda:InvokeFunction; the Resource Groups Tagging API,
# signed as "tagging", has the prefix "tag").
_IAM_ACTIONS = {"lambda:Invoke": "lambda:InvokeFunction"}
_IAM_PREFIXES = {"tagging": "tag"}


def iam_action(moto_action: str) -> str:
    """The IAM action AWS authorizes a request as, from moto's name for it."""
    prefix, _, operation = moto_action.partition(":")
    named = f"{_IAM_PREFIXES.get(prefix, prefix)}:{operation}"
    return _IAM_ACTIONS.get(named, named)


def check_action_permitted(self: IAMRequestBase, resource: str) -> None:
    """moto's check, but remembering whether an explicit Deny decided it, and where."""
    if self._action == "sts:GetCallerIdentity":
        return
    self._action = iam_action(self._action)
    from_resource = _secret_policy_decision(self, resource)
    if from_resource == "Deny":
        self._explicit_deny = "resource"
        self._raise_access_denied()
    permitted = from_resource == "Allow"
    policies = self._access_key.collect_policies()
    from_identity = identity_decision(policies, self._action, resource)
    if from_identity == PermissionResult.NEUTRAL and resource == "*":
        from_identity = identity_decision([_action_level(policy) for policy in policies], self._action, resource)
    if from_identity == PermissionResult.DENIED:
        self._explicit_deny = "identity"
        self._raise_access_denied()
    permitted = permitted or from_identity == PermissionResult.PERMITTED
    if self._is_assuming_role_operation(resource):
        permitted = permitted and _role_trusts(self, resource)
    if not permitted:
        self._raise_access_denied()


def _role_trusts(request: IAMRequestBase, role_arn: str) -> bool:
    """The role's trust policy admits the caller: by its own ARN (moto's check), or by its account,
    whose root ARN or id in Principal delegates to the account's own IAM policies (checked already)."""
    if request._check_role_trust_relationship(role_arn):
        return True
    document = request.backend.get_role_by_arn(role_arn).assume_role_policy_document
    statements = policy_statements(document if isinstance(document, (str, bytes)) else json.dumps(document))
    key = request._access_key
    names = _caller_principals(key) + [f"arn:{key.partition}:iam::{key.account_id}:root", key.account_id]
    facts = {"aws:PrincipalArn": names[0], "aws:PrincipalAccount": key.account_id, "aws:SecureTransport": "true"}
    decisions = [decision(statements, name, request._action, role_arn, facts) for name in names]
    return "Allow" in decisions and "Deny" not in decisions


_original_create_aws_request = IAMRequestBase._create_aws_request


def _create_aws_request(self: IAMRequestBase):  # noqa: ANN202 - botocore AWSRequest
    """A request without a body is signed over an empty payload, as SigV4 does.

    moto falls back to the parsed request data when the body is empty, which in server mode
    makes every signed GET (e.g. Lambda GetFunction) fail with SignatureDoesNotMatch.
    """
    request = _original_create_aws_request(self)
    if self._method in ("GET", "HEAD", "DELETE") and not self._body:
        request.data = b""
    return request


def _raise_access_denied(self: IAMRequestBase) -> None:
    error = AccessDeniedError(user_arn=self._access_key.arn, action=self._action)
    error.principal_arn = self._access_key.arn
    error.iam_action = self._action
    error.explicit = getattr(self, "_explicit_deny", False)
    raise error


def _is_json_protocol(response: BaseResponse) -> bool:
    from moto.core.utils import get_service_model

    try:
        return get_service_model(response.boto3_service_name).protocol in _JSON_PROTOCOLS
    except (UnknownServiceError, AttributeError):
        return False


_original_authorize = BaseResponse._authenticate_and_authorize_normal_action


# JSON-protocol services name authentication failures differently from query/XML ones.
_JSON_AUTH_ERRORS = {
    SignatureDoesNotMatchError: ("InvalidSignatureException", 403),
    InvalidClientTokenIdError: ("UnrecognizedClientException", 400),
}


def _authenticate_and_authorize_normal_action(self: BaseResponse, resource: str = "*") -> None:
    try:
        _original_authorize(self, resource)
    except tuple(_JSON_AUTH_ERRORS) as failed:
        if not _is_json_protocol(self):
            raise
        code, status = _JSON_AUTH_ERRORS[type(failed)]
        error = JsonRESTError(code, failed.message)
        error.code = status
        raise error
    except AccessDeniedError as denied:
        action = getattr(denied, "iam_action", "")
        explicit = getattr(denied, "explicit", False)
        reason = (f"with an explicit deny in {'a resource' if explicit == 'resource' else 'an identity'}-based policy"
                  if explicit else f"because no identity-based policy allows the {action} action")
        message = (f"User: {getattr(denied, 'principal_arn', 'unknown')} is not authorized to perform: "
                   f"{action} on resource: {resource} {reason}")
        if not _is_json_protocol(self):
            raise  # query/XML services keep moto's AccessDenied body
        raise JsonRESTError("AccessDeniedException", message)


_original_get_role_policy = IAMBackend.get_role_policy


def get_role_policy(self: IAMBackend, role_name: str, policy_name: str) -> tuple[str, str]:
    """An inline policy made by CloudFormation comes back as a JSON document, like any other."""
    name, document = _original_get_role_policy(self, role_name, policy_name)
    return name, json.dumps(document) if isinstance(document, dict) else document


def install() -> None:
    IAMBackend.get_role_policy = get_role_policy
    SecretsManagerResponse._determine_resource = secret_resource
    ECRResponse._determine_resource = repository_resource
    LogsResponse._determine_resource = log_stream_resource
    IAMRequestBase.check_action_permitted = check_action_permitted
    IAMRequestBase._create_aws_request = _create_aws_request
    access_control.IAMRequest._raise_access_denied = _raise_access_denied
    BaseResponse._authenticate_and_authorize_normal_action = _authenticate_and_authorize_normal_action
