"""What CloudTrail writes of one call: the request with secrets left out, the response cut to
identifiers, read-only or not, and the error of a failed call.

AWS never records secret values (GetSecretValue's responseElements is null; SecretString and
SecretBinary are left out), passwords (written `****`), secret access keys, session tokens,
or CloudFormation parameter values. Read-only calls have responseElements null; a denied call
has errorCode and errorMessage (Secrets Manager's denials are written `AccessDenied`).
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import unescape

EVENT_VERSION = "1.09"
PASSWORD_MASK = "****"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

# Request members never written (values of secrets, keys, code) and members written masked.
# CloudFormation logs "only the input parameter key names; no parameter values" (and here no
# template body either: a template may hold a literal password).
OMITTED = {"secretstring", "secretbinary", "secretaccesskey", "sessiontoken", "zipfile", "templatebody",
           "parametervalue"}
HIDDEN_MEMBERS = {"variables", "userdata", "privatekey", "privatekeymaterial"}
# responseElements of write calls: only these members (identifiers and states), never values.
RESPONSE_KEYS = {key.lower() for key in (
    "ARN", "Name", "VersionId", "VersionStages", "Credentials", "AccessKeyId", "Expiration",
    "AssumedRoleUser", "AssumedRoleId", "AccessKey", "User", "UserName", "UserId", "Role", "RoleName",
    "RoleId", "Policy", "PolicyName", "PolicyId", "DefaultVersionId", "Status", "CreateDate", "Path",
    "StackId", "FunctionName", "FunctionArn", "DBInstance", "DBInstanceIdentifier", "DBInstanceArn",
    "DBInstanceStatus", "TrailARN", "S3BucketName", "TaskDefinition", "TaskDefinitionArn", "Family",
    "Revision", "Repository", "RepositoryArn", "RepositoryName", "Cluster", "ClusterArn", "ClusterName",
    "KeyMetadata", "KeyId", "VpcId", "SubnetId", "GroupId", "InstanceId", "Location")}
READ_PREFIXES = ("Get", "Describe", "List", "Lookup", "Head", "BatchGet", "Search", "Filter", "Validate",
                 "Check", "Estimate", "Preview", "Simulate", "Test")
# STS issues credentials in read-only calls, and CloudTrail records who got which key.
ISSUES_CREDENTIALS = {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetSessionToken",
                      "GetFederationToken"}
READ_NAMES = ISSUES_CREDENTIALS | {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                                    "GenerateRandom"}
# Data events, not in Event history (by boto3 service name: checked before any model is loaded).
DATA_EVENTS = {("lambda", "Invoke"), ("lambda", "InvokeAsync"), ("lambda", "InvokeWithResponseStream"),
               ("logs", "PutLogEvents"), ("logs", "GetLogEvents"), ("logs", "FilterLogEvents")}
# Failures before authentication: AWS cannot attribute the call, so it is no event.
UNAUTHENTICATED = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                   "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
                   "InvalidAccessKeyId", "ExpiredToken", "ExpiredTokenException"}
GLOBAL_SERVICES = {"iam", "cloudfront", "route53"}
# Which request member names which resource, per service (Event.Resources).
RESOURCE_PARAMS = {
    "secretsmanager": {"secretId": "AWS::SecretsManager::Secret", "name": "AWS::SecretsManager::Secret"},
    "iam": {"userName": "AWS::IAM::User", "roleName": "AWS::IAM::Role", "policyArn": "AWS::IAM::Policy",
            "accessKeyId": "AWS::IAM::AccessKey"},
    "sts": {"roleArn": "AWS::IAM::Role"},
    "cloudformation": {"stackName": "AWS::CloudFormation::Stack"},
    "lambda": {"functionName": "AWS::Lambda::Function"},
    "rds": {"dBInstanceIdentifier": "AWS::RDS::DBInstance"},
    "cloudtrail": {"name": "AWS::CloudTrail::Trail"},
    "s3": {"bucketName": "AWS::S3::Bucket"},
    "ecs": {"cluster": "AWS::ECS::Cluster", "taskDefinition": "AWS::ECS::TaskDefinition"},
    "ecr": {"repositoryName": "AWS::ECR::Repository"},
    "kms": {"keyId": "AWS::KMS::Key"},
    "logs": {"logGroupName": "AWS::Logs::LogGroup"},
}
# S3 bucket calls moto names by IAM action; None: a data event (ListObjects and the like).
S3_NAMES: dict[str, str | None] = {
    "ListBucket": None, "ListBucketVersions": None, "ListBucketMultipartUploads": None, "HeadBucket": None,
    "DeleteObjects": None, "GetBucketCORS": "GetBucketCors", "PutBucketCORS": "PutBucketCors",
    "GetLifecycleConfiguration": "GetBucketLifecycle", "PutLifecycleConfiguration": "PutBucketLifecycle",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock", "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock",
}


def _member(key: str) -> str:
    # CloudTrail writes members in lower camel case: SecretId -> secretId, ARN -> arn.
    return key.lower() if key.isupper() else key[:1].lower() + key[1:]


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def request_parameters(params: Any) -> Any:
    """The request as CloudTrail writes it: secrets left out, passwords masked."""
    if isinstance(params, dict):
        out = {}
        for key, value in params.items():
            lowered = str(key).lower()
            if lowered in OMITTED or isinstance(value, (bytes, bytearray)):
                continue
            if "password" in lowered and isinstance(value, str):  # not PasswordLength and the like
                out[_member(key)] = PASSWORD_MASK
            elif lowered in HIDDEN_MEMBERS:
                out[_member(key)] = HIDDEN
            else:
                out[_member(key)] = request_parameters(value)
        return out
    if isinstance(params, list):
        return [request_parameters(item) for item in params if not isinstance(item, (bytes, bytearray))]
    return _plain(params)


def response_elements(response: Any) -> Any:
    """Only allow-listed members (identifiers, states): a value that is not listed never appears."""
    if isinstance(response, dict):
        return {_member(key): response_elements(value) for key, value in response.items()
                if str(key).lower() in RESPONSE_KEYS}
    if isinstance(response, list):
        return [response_elements(item) for item in response]
    return None if isinstance(response, (bytes, bytearray)) else _plain(response)


def read_only(event_name: str) -> bool:
    return event_name in READ_NAMES or event_name.startswith(READ_PREFIXES)


_ERROR_JSON_KEYS = ("__type", "code", "Code", "Type")


def error_of(status: int, headers: dict[str, Any], body: Any) -> tuple[str, str] | None:
    """(code, message) of a failed call, from a JSON or XML error body."""
    if status < 400:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body or "")
    code = str(headers.get("x-amzn-ErrorType") or headers.get("X-Amzn-ErrorType") or "")
    message = ""
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        code = code or next((str(document[key]) for key in _ERROR_JSON_KEYS if document.get(key)), "")
        message = str(document.get("message") or document.get("Message") or "")
    else:
        found = re.search(r"<Code>(.*?)</Code>", text, re.S)
        code = code or (found.group(1) if found else "")
        found = re.search(r"<Message>(.*?)</Message>", text, re.S)
        message = unescape(found.group(1)) if found else ""
    code = code.split("#")[-1].split(":")[0] or str(status)
    return code, message


def cloudtrail_error_code(source: str, code: str, status: int) -> str:
    if code == "AccessDeniedException":
        return "AccessDenied"  # how CloudTrail writes Secrets Manager's (and other JSON APIs') denials
    if source == "ec2":
        return f"{'Server' if status >= 500 else 'Client'}.{code}"
    return code

