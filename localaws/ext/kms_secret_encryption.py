"""A secret encrypted with a customer managed KMS key is read and written only by callers who may use
the key, as AWS decides it.

AWS (Secrets Manager user guide, "Secret encryption and decryption in AWS Secrets Manager",
"Permissions for the KMS key" and "How Secrets Manager uses your KMS key"):
- "When Secrets Manager uses a KMS key in cryptographic operations, it acts on behalf of the user who
  is creating or changing the secret value": GetSecretValue makes Secrets Manager call kms:Decrypt;
  CreateSecret with a value, PutSecretValue and UpdateSecret with a value (a rotation's new version is
  one, put by the rotation function as its role) call kms:GenerateDataKey, each as the caller, on the
  secret's key, with the encryption context {"SecretARN": <the secret's ARN>, "SecretVersionId": <the
  version>} and through Secrets Manager (kms:ViaService = secretsmanager.<region>.amazonaws.com).
- The AWS managed key aws/secretsmanager (the default, or no KmsKeyId) may be used by every principal
  of the account through Secrets Manager: nothing to check.
- KMS authorises a customer managed key by its key policy first (KMS developer guide, "Key policies in
  AWS KMS", "Default key policy"): a statement naming the caller (its user or role ARN) allows it alone;
  one naming the account (`arn:aws:iam::<account>:root` or the account id) delegates to IAM, so the
  caller's identity policies must allow the action on the key too; an explicit Deny in either wins;
  conditions are evaluated with the request's kms:ViaService, kms:EncryptionContext:<key>,
  kms:CallerAccount, aws:PrincipalArn and aws:PrincipalAccount ("AWS KMS condition keys"). A grant
  (CreateGrant) naming the caller's user or role ARN as grantee gives it the grant's operations, within the
  grant's encryption context constraints ("Grants in AWS KMS").
- Refused, Secrets Manager answers the caller `AccessDeniedException` "Access to KMS is not allowed"
  (HTTP 400), at the Secrets Manager call (AWS re:Post and public reports of this exact answer, e.g.
  aws-samples/aws-secrets-manager-rotation-lambdas#53 for a rotation function's GetSecretValue, and
  aws/aws-cdk#7677 for CloudFormation's CreateSecret).
moto 5.2.5 stores a secret's KmsKeyId but never consults KMS, so every caller that may call the Secrets
Manager action reads and writes the secret whatever the key says. The ECS agent and Lambda read secrets
as their roles through the same API (localaws/access_keys.py), so the rule applies to them too.
The check runs only while IAM is enforced (as moto's own authorisation does).

CloudFormation makes an AWS::SecretsManager::Secret with CreateSecret as the caller of CreateStack (and
resolves a dynamic reference with GetSecretValue, and a SecretTargetAttachment with GetSecretValue and
PutSecretValue, likewise), so a key that caller may not use fails the resource ("Access to KMS is not
allowed", aws/aws-cdk#7677) and the stack rolls back (localaws/ext/cfn_create_failures.py).
"""
from __future__ import annotations

import json
import threading
from typing import Any

from moto import settings
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.iam.access_control import PermissionResult, create_access_key
from moto.kms.models import Key, kms_backends
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.utilities.utils import get_partition

from localaws.ext import cfn_dynamic_refs
from localaws.ext.cfn_secretsmanager import CfnSecret, CfnSecretTargetAttachment
from localaws.ext.iam_enforcement import _caller_principals, identity_decision
from localaws.resource_policies import decision, policy_statements

DENIED_MESSAGE = "Access to KMS is not allowed"
AWS_MANAGED_ALIAS_PREFIX = "alias/aws/"


class KmsAccessDenied(JsonRESTError):
    def __init__(self) -> None:
        super().__init__("AccessDeniedException", DENIED_MESSAGE)


def _iam_enforced() -> bool:
    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def customer_managed_key(account_id: str, region: str, key_ref: str | None) -> Key | None:
    """The customer managed key `key_ref` (key id, key ARN, alias name or alias ARN) names, or None for the
    AWS managed key (aws/secretsmanager, the default) or a key this local AWS does not hold."""
    if not key_ref:
        return None
    if key_ref.startswith("arn:"):
        parts = key_ref.split(":")
        account_id, region = parts[4] or account_id, parts[3] or region
    backend = kms_backends[account_id][region]
    alias = backend.get_alias_name(key_ref)
    if alias.startswith(AWS_MANAGED_ALIAS_PREFIX):
        return None
    try:
        key = backend.keys[backend.any_id_to_key_id(key_ref)]
    except (KeyError, TypeError, AttributeError):
        return None
    if key.key_manager == "AWS" or any(name.startswith(AWS_MANAGED_ALIAS_PREFIX) for name in key.aliases):
        return None
    return key


def key_policy_statements(key: Key) -> list[dict[str, Any]]:
    """The key policy's statements (a document, or the dict moto would keep of a template's KeyPolicy)."""
    policy = key.policy
    return policy_statements(policy if isinstance(policy, (str, bytes)) else json.dumps(policy))


def _granted(key: Key, names: list[str], action: str, context: dict[str, str]) -> bool:
    """A grant on the key gives one of the caller's names the operation, its constraints met by the encryption
    context (KMS developer guide, "Grants in AWS KMS"; API reference, GrantConstraints: EncryptionContextSubset
    pairs must all be in the request's context, EncryptionContextEquals must be all of it; keys are not case
    sensitive, values are)."""
    operation = action.split(":", 1)[1]
    lowered = {name.lower(): value for name, value in context.items()}
    for grant in getattr(key, "grants", {}).values():
        if grant.grantee_principal not in names or operation not in (grant.operations or []):
            continue
        constraints = grant.constraints or {}
        subset = constraints.get("EncryptionContextSubset") or {}
        equals = constraints.get("EncryptionContextEquals")
        if any(lowered.get(name.lower()) != value for name, value in subset.items()):
            continue
        if equals and {name.lower(): value for name, value in equals.items()} != lowered:
            continue
        return True
    return False


def key_allows(access_key: Any, action: str, key: Key, facts: dict[str, str]) -> bool:
    """Whether KMS lets the caller (moto's access key object) do `action` on `key` given the request's
    condition `facts`: the key policy allows it by name, or delegates to the account and the caller's
    identity policies allow it, or a grant gives it; no explicit Deny in the key policy or the caller's
    identity policies."""
    statements = key_policy_statements(key)
    names = _caller_principals(access_key)
    account = [f"arn:{access_key.partition}:iam::{access_key.account_id}:root", access_key.account_id]
    by_name = [decision(statements, name, action, key.arn, facts) for name in names]
    by_account = [decision(statements, name, action, key.arn, facts) for name in account]
    if "Deny" in by_name + by_account:
        return False
    identity = identity_decision(access_key.collect_policies(), action, key.arn, facts)
    if identity == PermissionResult.DENIED:
        return False
    context = {name.split(":", 2)[2]: value for name, value in facts.items()
               if name.startswith("kms:EncryptionContext:")}
    return ("Allow" in by_name or ("Allow" in by_account and identity == PermissionResult.PERMITTED)
            or _granted(key, names, action, context))


def _facts(access_key: Any, region: str, secret_arn: str, version_id: str | None) -> dict[str, str]:
    names = _caller_principals(access_key)
    facts = {
        "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
        "kms:CallerAccount": access_key.account_id,
        "kms:EncryptionContext:SecretARN": secret_arn,
        "aws:PrincipalArn": names[-1],
        "aws:PrincipalAccount": access_key.account_id,
        "aws:SecureTransport": "true",
    }
    if version_id:
        facts["kms:EncryptionContext:SecretVersionId"] = version_id
    return facts


def _caller(response: BaseResponse) -> Any | None:
    """moto's access key object of the request's caller, or None when IAM is not enforced."""
    if not _iam_enforced() or "Authorization" not in response.headers:
        return None
    return create_access_key(account_id=response.current_account, partition=get_partition(response.region),
                             access_key_id=response.get_access_key(), headers=response.headers)


def _require(response: SecretsManagerResponse, action: str, key_ref: str | None, secret_arn: str,
             version_id: str | None) -> None:
    key = customer_managed_key(response.current_account, response.region, key_ref)
    if key is None:
        return  # the AWS managed key: every principal of the account may use it through Secrets Manager
    caller = _caller(response)
    if caller is None:
        return
    if not key_allows(caller, action, key, _facts(caller, response.region, secret_arn, version_id)):
        raise KmsAccessDenied()


def _secret(response: SecretsManagerResponse) -> Any | None:
    secret = response.backend.secrets.get(response._get_param("SecretId") or "")
    if secret is None or getattr(secret, "deleted_date", None):
        return None  # Secrets Manager's own answer (not found, marked for deletion) comes first
    return secret


def _version_read(secret: Any, version_id: str | None, stage: str | None) -> str | None:
    if version_id:
        return version_id
    wanted = stage or "AWSCURRENT"
    return next((vid for vid, version in secret.versions.items() if wanted in version.get("version_stages", [])),
                None)


_original_get_secret_value = SecretsManagerResponse.get_secret_value
_original_put_secret_value = SecretsManagerResponse.put_secret_value
_original_create_secret = SecretsManagerResponse.create_secret
_original_update_secret = SecretsManagerResponse.update_secret


def get_secret_value(self: SecretsManagerResponse) -> str:
    secret = _secret(self)
    if secret is not None:
        version = _version_read(secret, self._get_param("VersionId"), self._get_param("VersionStage"))
        _require(self, "kms:Decrypt", secret.kms_key_id, secret.arn, version)
    return _original_get_secret_value(self)


def put_secret_value(self: SecretsManagerResponse) -> str:
    secret = _secret(self)
    if secret is not None and (self._get_param("SecretString") or self._get_param("SecretBinary")):
        _require(self, "kms:GenerateDataKey", secret.kms_key_id, secret.arn, self._get_param("ClientRequestToken"))
    return _original_put_secret_value(self)


def update_secret(self: SecretsManagerResponse) -> str:
    secret = _secret(self)
    if secret is not None and (self._get_param("SecretString") or self._get_param("SecretBinary")):
        key_ref = self._get_param("KmsKeyId") or secret.kms_key_id  # a new value is encrypted with the new key
        _require(self, "kms:GenerateDataKey", key_ref, secret.arn, self._get_param("ClientRequestToken"))
    return _original_update_secret(self)


def create_secret(self: SecretsManagerResponse) -> str:
    """The secret's ARN (the encryption context) exists only once it is made: a refused CreateSecret
    leaves nothing behind, as in AWS."""
    answer = _original_create_secret(self)
    if not (self._get_param("SecretString") or self._get_param("SecretBinary")):
        return answer
    created = json.loads(answer)
    try:
        _require(self, "kms:GenerateDataKey", self._get_param("KmsKeyId"), created["ARN"], created.get("VersionId"))
    except KmsAccessDenied:
        self.backend.secrets.pop(created["ARN"])
        raise
    return answer


_stack_caller = threading.local()  # the caller of the CreateStack being served on this thread


def _as_stack_caller(method: Any) -> Any:
    def serve(self: CloudFormationResponse) -> Any:
        _stack_caller.key = _caller(self)
        try:
            return method(self)
        finally:
            _stack_caller.key = None
    return serve


def _stack_caller_requires(action: str, account_id: str, region: str, secret: Any, version_id: str | None) -> None:
    """What CloudFormation does with a secret it does as the caller of CreateStack: KMS decides as for that
    caller's own call."""
    caller = getattr(_stack_caller, "key", None)
    key = customer_managed_key(account_id, region, secret.kms_key_id)
    if caller is not None and key is not None and not key_allows(
            caller, action, key, _facts(caller, region, secret.arn, version_id)):
        raise KmsAccessDenied()


_original_cfn_secret = CfnSecret.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def cfn_secret(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
               **kwargs: Any) -> CfnSecret:
    """CloudFormation's CreateSecret, as the stack's caller: refused, nothing is left of the secret."""
    made = _original_cfn_secret(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    secrets = _secrets_backend(account_id, region_name).secrets
    secret = secrets[made.secret_arn]
    try:
        first_version = next(iter(secret.versions), None)
        _stack_caller_requires("kms:GenerateDataKey", account_id, region_name, secret, first_version)
    except KmsAccessDenied:
        secrets.pop(made.secret_arn)
        raise
    return made


_original_cfn_attachment = (
    CfnSecretTargetAttachment.create_from_cloudformation_json.__func__)  # type: ignore[attr-defined]


def cfn_attachment(cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str,
                   **kwargs: Any) -> CfnSecretTargetAttachment:
    """The attachment reads the secret and writes a new version of it (GetSecretValue, PutSecretValue)."""
    secret = _secrets_backend(account_id, region_name).secrets.get(
        (cloudformation_json.get("Properties") or {}).get("SecretId") or "")
    if secret is not None:
        current = _version_read(secret, None, "AWSCURRENT")
        _stack_caller_requires("kms:Decrypt", account_id, region_name, secret, current)
        _stack_caller_requires("kms:GenerateDataKey", account_id, region_name, secret, None)
    return _original_cfn_attachment(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)


_original_resolve = cfn_dynamic_refs.resolve


def resolve(body: str, account_id: str, region: str) -> str:
    """A dynamic reference {{resolve:secretsmanager:...}} is GetSecretValue as the stack's caller."""
    reference = cfn_dynamic_refs.parse_reference(body)
    secret = _secrets_backend(account_id, region).secrets.get(reference["secret_id"] or "")
    if secret is not None:
        version = _version_read(secret, reference["version_id"], reference["stage"])
        _stack_caller_requires("kms:Decrypt", account_id, region, secret, version)
    return _original_resolve(body, account_id, region)


def _secrets_backend(account_id: str, region: str) -> Any:
    from moto.secretsmanager.models import secretsmanager_backends

    return secretsmanager_backends[account_id][region]


def install() -> None:
    CfnSecret.create_from_cloudformation_json = classmethod(cfn_secret)  # type: ignore[method-assign,assignment]
    CfnSecretTargetAttachment.create_from_cloudformation_json = classmethod(  # type: ignore[method-assign,assignment]
        cfn_attachment)
    cfn_dynamic_refs.resolve = resolve
    for name in ("create_stack", "update_stack"):
        setattr(CloudFormationResponse, name, _as_stack_caller(getattr(CloudFormationResponse, name)))
    SecretsManagerResponse.get_secret_value = get_secret_value
    SecretsManagerResponse.put_secret_value = put_secret_value
    SecretsManagerResponse.update_secret = update_secret
    SecretsManagerResponse.create_secret = create_secret
