"""CloudTrail: every API call the local AWS serves becomes an event, as AWS records it.

AWS (CloudTrail user guide; LookupEvents and Event API reference):
- Event history holds each management API call of the account and region, allowed or
  denied. LookupEvents filters on one LookupAttribute (EventId, EventName, ReadOnly,
  Username, ResourceType, ResourceName, EventSource, AccessKeyId) and StartTime/EndTime
  (both inclusive), returns MaxResults (1..50, default 50) events newest first and a
  NextToken valid only for the same query. Event times have a one-second resolution.
- An event: EventId, EventName, ReadOnly ("true"/"false"), AccessKeyId, EventTime,
  EventSource (`secretsmanager.amazonaws.com`), Username (the IAM user name, or the role
  session name for an assumed role), Resources, and CloudTrailEvent: the record as JSON.
- The record's userIdentity is IAMUser (arn of the user, userName) or AssumedRole (arn
  `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`, principalId `ROLEID:SESSION`,
  sessionContext.sessionIssuer the role). A denied call has errorCode and errorMessage;
  Secrets Manager's denials are written `AccessDenied`.
- Never recorded: secret values (GetSecretValue's responseElements is null, SecretString
  and SecretBinary are left out), passwords (written `****`), secret access keys, session
  tokens, CloudFormation parameter values. Read-only calls have responseElements null.
  Data events (S3 object operations, Lambda Invoke, CloudWatch Logs data) are not in Event
  history; neither are calls AWS could not authenticate.
- A trail delivers, while it is logging, the events of its region (every region for a
  multi-region trail; IAM and other global services only with IncludeGlobalServiceEvents)
  to its bucket: gzipped JSON `{"Records": [...]}` files named
  `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_ID.json.gz`.
  Calls made while it is stopped are never delivered (they stay in Event history).
Kept different on purpose: events can be looked up at once (AWS: up to ~15 minutes);
log files are written when S3 is next used or every 100 events (AWS: about every 5
minutes); AssumeRole's sessionToken (AWS writes it) and CreateStack's template body (it
may hold a literal password) are left out; responseElements keep only identifiers (an
allow-list); no digest files and no service events (RotationSucceeded ...); the calls AWS
services make on the caller's behalf (CloudFormation, Lambda assuming its role) are not
events.
moto 5.2.5 records nothing, has no LookupEvents, and its DescribeTrails ignores trailNameList.
"""
from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import logging
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable
from xml.sax.saxutils import unescape

from botocore.parsers import PROTOCOL_PARSERS as RESPONSE_PARSERS
from botocore.utils import parse_timestamp
from moto.cloudtrail.models import CloudTrailBackend, Trail
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.responses import BaseResponse
from moto.core.utils import get_service_model
from moto.iam.models import iam_backends
from moto.moto_api._internal.models import MotoAPIBackend
from moto.s3.models import s3_backends
from moto.s3.responses import S3Response
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

log = logging.getLogger("localaws.cloudtrail")

EVENT_VERSION = "1.09"
PASSWORD_MASK = "****"
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
FLUSH_EVERY = 100  # records per log file at most; S3 reads flush sooner

# Request members never written (values of secrets, keys, code) and members written masked.
# CloudFormation logs "only the input parameter key names; no parameter values" (and here no
# template body either: a template may hold a literal password).
_OMITTED = {"secretstring", "secretbinary", "secretaccesskey", "sessiontoken", "zipfile", "templatebody",
            "parametervalue"}
_HIDDEN = {"variables", "userdata", "privatekey", "privatekeymaterial"}
# responseElements of write calls: only these members (identifiers and states), never values.
_RESPONSE_KEYS = {key.lower() for key in (
    "ARN", "Name", "VersionId", "VersionStages", "Credentials", "AccessKeyId", "Expiration",
    "AssumedRoleUser", "AssumedRoleId", "AccessKey", "User", "UserName", "UserId", "Role", "RoleName",
    "RoleId", "Policy", "PolicyName", "PolicyId", "DefaultVersionId", "Status", "CreateDate", "Path",
    "StackId", "FunctionName", "FunctionArn", "DBInstance", "DBInstanceIdentifier", "DBInstanceArn",
    "DBInstanceStatus", "TrailARN", "S3BucketName", "TaskDefinition", "TaskDefinitionArn", "Family",
    "Revision", "Repository", "RepositoryArn", "RepositoryName", "Cluster", "ClusterArn", "ClusterName",
    "KeyMetadata", "KeyId", "VpcId", "SubnetId", "GroupId", "InstanceId", "Location")}
_READ_PREFIXES = ("Get", "Describe", "List", "Lookup", "Head", "BatchGet", "Search", "Filter", "Validate",
                  "Check", "Estimate", "Preview", "Simulate", "Test")
# STS issues credentials in read-only calls, and CloudTrail records who got which key.
_ISSUES_CREDENTIALS = {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetSessionToken",
                       "GetFederationToken"}
_READ_NAMES = _ISSUES_CREDENTIALS | {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
                                     "GenerateRandom"}
# Data events, not in Event history (by boto3 service name: checked before any model is loaded).
_DATA_EVENTS = {("lambda", "Invoke"), ("lambda", "InvokeAsync"), ("lambda", "InvokeWithResponseStream"),
                ("logs", "PutLogEvents"), ("logs", "GetLogEvents"), ("logs", "FilterLogEvents")}
# Failures before authentication: AWS cannot attribute the call, so it is no event.
_UNAUTHENTICATED = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                    "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
                    "InvalidAccessKeyId", "ExpiredToken", "ExpiredTokenException"}
_GLOBAL_SERVICES = {"iam", "cloudfront", "route53"}
# Which request member names which resource, per service (Event.Resources).
_RESOURCE_PARAMS = {
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
_S3_NAMES: dict[str, str | None] = {
    "ListBucket": None, "ListBucketVersions": None, "ListBucketMultipartUploads": None, "HeadBucket": None,
    "DeleteObjects": None, "GetBucketCORS": "GetBucketCors", "PutBucketCORS": "PutBucketCors",
    "GetLifecycleConfiguration": "GetBucketLifecycle", "PutLifecycleConfiguration": "PutBucketLifecycle",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock", "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock",
}
LOOKUP_ATTRIBUTES = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
                     "EventSource", "AccessKeyId")
_RECORD_FIELDS = {"EventId": "eventID", "EventName": "eventName", "EventSource": "eventSource"}


# --------------------------------------------------------------------------- who called

@dataclass(frozen=True)
class Caller:
    user_identity: dict[str, Any]
    username: str


_callers: dict[tuple[str, str], Caller] = {}


def _iam_user(account: str, partition: str, key_id: str) -> Caller | None:
    for user in list(iam_backends[account][partition].users.values()):
        if any(key.access_key_id == key_id for key in user.access_keys):
            return Caller({"type": "IAMUser", "principalId": user.id, "arn": user.arn, "accountId": account,
                           "accessKeyId": key_id, "userName": user.name}, user.name)
    return None


def _assumed_role(account: str, partition: str, key_id: str) -> Caller | None:
    for session in reversed(sts_backends[account][partition].assumed_roles):
        if session.access_key_id != key_id:
            continue
        role_name = session.role_arn.split("/")[-1]
        try:
            role_id = iam_backends[account][partition].get_role_by_arn(session.role_arn).id
        except Exception:  # the role is gone: AWS still names the session
            role_id = "AROA" + hashlib.sha1(session.role_arn.encode()).hexdigest()[:17].upper()
        issuer = {"type": "Role", "principalId": role_id, "arn": session.role_arn, "accountId": account,
                  "userName": role_name}
        return Caller({"type": "AssumedRole", "principalId": f"{role_id}:{session.session_name}",
                       "arn": session.arn, "accountId": account, "accessKeyId": key_id,
                       "sessionContext": {"sessionIssuer": issuer,
                                          "attributes": {"creationDate": _iso(time.time()),
                                                         "mfaAuthenticated": "false"}}},
                      session.session_name)
    return None


def caller(account: str, partition: str, key_id: str) -> Caller | None:
    """The principal behind an access key (IAM user or STS session); None if unknown."""
    found = _callers.get((account, key_id))
    if found is None:
        found = _iam_user(account, partition, key_id) or _assumed_role(account, partition, key_id)
        if found is not None:  # identities of a key never change: remember them
            _callers[(account, key_id)] = found
    return found


# --------------------------------------------------------------------------- what was asked, what came back

def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
            if lowered in _OMITTED or isinstance(value, (bytes, bytearray)):
                continue
            if "password" in lowered and isinstance(value, str):  # not PasswordLength and the like
                out[_member(key)] = PASSWORD_MASK
            elif lowered in _HIDDEN:
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
                if str(key).lower() in _RESPONSE_KEYS}
    if isinstance(response, list):
        return [response_elements(item) for item in response]
    return None if isinstance(response, (bytes, bytearray)) else _plain(response)


def read_only(event_name: str) -> bool:
    return event_name in _READ_NAMES or event_name.startswith(_READ_PREFIXES)


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


# --------------------------------------------------------------------------- the event history

@dataclass
class Event:
    seq: int
    time: int  # seconds: CloudTrail's resolution
    account: str
    region: str
    record: dict[str, Any]
    username: str
    resources: list[tuple[str, str]] = field(default_factory=list)

    def attribute(self, key: str) -> list[str]:
        """The values LookupEvents compares an AttributeValue with."""
        if key == "Username":
            return [self.username]
        if key in ("ResourceType", "ResourceName"):
            return [pair[0 if key == "ResourceType" else 1] for pair in self.resources]
        if key == "ReadOnly":
            return ["true" if self.record["readOnly"] else "false"]
        if key == "AccessKeyId":
            return [self.record["userIdentity"].get("accessKeyId", "")]
        return [self.record[_RECORD_FIELDS[key]]]

    def lookup_entry(self) -> dict[str, Any]:
        record = self.record
        return {"EventId": record["eventID"], "EventName": record["eventName"],
                "ReadOnly": "true" if record["readOnly"] else "false",
                "AccessKeyId": record["userIdentity"].get("accessKeyId", ""), "EventTime": self.time,
                "EventSource": record["eventSource"], "Username": self.username,
                "Resources": [{"ResourceType": kind, "ResourceName": name} for kind, name in self.resources],
                "CloudTrailEvent": json.dumps(record)}


class EventHistory:
    """Thread-safe, in memory: the server answers requests on many threads."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    def next_seq(self) -> int:
        return next(self._seq)

    def add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def select(self, account: str, region: str, start: float, end: float,
               attribute: tuple[str, str] | None) -> list[Event]:
        """Matching events, newest first (ties: most recently recorded first)."""
        with self._lock:
            events = list(self._events)
        chosen = [event for event in events
                  if event.account == account and event.region == region and start <= event.time <= end
                  and (attribute is None or attribute[1] in event.attribute(attribute[0]))]
        chosen.sort(key=lambda event: (event.time, event.seq), reverse=True)
        return chosen


HISTORY = EventHistory()


# --------------------------------------------------------------------------- delivery to trails

_trails: dict[int, Trail] = {}


def _logging_trails() -> list[Trail]:
    return [trail for trail in list(_trails.values()) if trail.status.is_logging]


def _delivers(trail: Trail, region: str, service: str) -> bool:
    if service in _GLOBAL_SERVICES and not trail.include_global_service_events:
        return False
    return trail.is_multi_region or trail.region_name == region


class Delivery:
    """Records waiting for their trail's bucket, one log file per trail and region."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def add(self, trails: list[Trail], region: str, record: dict[str, Any]) -> None:
        full = False
        with self._lock:
            for trail in trails:
                batch = self._pending.setdefault(
                    (trail.account_id, trail.bucket_name, trail.s3_key_prefix or "", region), [])
                batch.append(record)
                full = full or len(batch) >= FLUSH_EVERY
        if full:
            self.flush()

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for (account, bucket, prefix, region), records in pending.items():
            now = datetime.now(timezone.utc)
            key = (f"{prefix + '/' if prefix else ''}AWSLogs/{account}/CloudTrail/{region}/{now:%Y/%m/%d}/"
                   f"{account}_CloudTrail_{region}_{now:%Y%m%dT%H%MZ}_{secrets.token_hex(8)}.json.gz")
            body = gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=1)
            try:
                s3_backends[account][get_partition(region)].put_object(bucket, key, body)
            except Exception as error:  # a missing bucket loses the delivery, as in AWS
                log.warning("CloudTrail could not deliver %d records to s3://%s: %s", len(records), bucket, error)


DELIVERY = Delivery()


def flush() -> None:
    """Write the waiting log files now."""
    DELIVERY.flush()


# --------------------------------------------------------------------------- recording a call

def _operation(response: BaseResponse, name: str) -> Any:
    return get_service_model(response.boto3_service_name).operation_model(name)


def _parsed_request(response: BaseResponse, name: str) -> Any:
    operation = _operation(response, name)
    protocol = operation.service_model.protocol
    if protocol == "json":
        return json.loads(response.body or "{}")
    request = response.normalized_request
    parser = PROTOCOL_PARSERS[protocol](operation, map_type=dict)
    return parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                         "body": request.data, "url_path": request.path,
                         "url_params": getattr(response, "uri_match", None) or {}})


def _parsed_response(response: BaseResponse, name: str, status: int, headers: Any, body: Any) -> Any:
    operation = _operation(response, name)
    protocol = operation.service_model.protocol
    if protocol in ("json", "rest-json") and not operation.has_event_stream_output:
        return json.loads(body or "{}") if body else {}
    if operation.output_shape is None:
        return {}
    raw = body if isinstance(body, (bytes, bytearray)) else str(body or "").encode()
    parser = RESPONSE_PARSERS[protocol](timestamp_parser=str)  # timestamps stay as sent: cheaper
    return parser.parse({"body": raw, "headers": dict(headers), "status_code": status}, operation.output_shape)


def _secret_arn(response: BaseResponse, secret_id: str) -> str:
    try:
        return response.backend.secrets[secret_id].arn  # type: ignore[attr-defined]
    except Exception:
        return secret_id


def _resources(response: BaseResponse, source: str, params: Any) -> list[tuple[str, str]]:
    if not isinstance(params, dict):
        return []
    found = []
    for member, kind in _RESOURCE_PARAMS.get(source, {}).items():
        value = params.get(member)
        if isinstance(value, str) and value:
            if source == "secretsmanager":
                value = _secret_arn(response, value)
            found.append((kind, value))
    return found


def _request_id(headers: Any, body: Any) -> str:
    for name in ("x-amzn-RequestId", "x-amz-request-id", "x-amzn-requestid"):
        if headers.get(name):
            return str(headers[name])
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body or "")
    start = text.rfind("<RequestId>")  # at the end of query responses: no scan of a long body
    end = text.find("</RequestId>", start)
    return text[start + len("<RequestId>"):end] if start >= 0 and end > start else str(uuid.uuid4())


def _safely(what: Callable[[], Any], fallback: Any = None) -> Any:
    try:
        return what()
    except Exception:  # a request or response moto could not parse: record the call without it
        return fallback


def record_call(response: BaseResponse, started: float, name: str, trails_before: list[Trail],
                result: tuple[int, Any, Any], params: Callable[[], Any] | None = None) -> Event | None:
    """Turn one served call into an event (None when AWS would record none)."""
    status, headers, body = result
    if not name or (response.boto3_service_name, name) in _DATA_EVENTS:
        return None
    metadata = get_service_model(response.boto3_service_name).metadata
    source = metadata.get("signingName") or metadata["endpointPrefix"]
    failure = error_of(int(status), headers or {}, body)
    if failure and failure[0] in _UNAUTHENTICATED:
        return None
    account, region = response.current_account, response.region
    who = caller(account, get_partition(region), response.get_access_key())
    if who is None:
        return None
    readonly = read_only(name)
    requested = _safely(params or (lambda: _parsed_request(response, name)), {})
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION, "userIdentity": who.user_identity, "eventTime": _iso(started),
        "eventSource": f"{source}.amazonaws.com", "eventName": name, "awsRegion": region,
        "sourceIPAddress": getattr(response.normalized_request, "remote_addr", None) or "127.0.0.1",
        "userAgent": str(response.headers.get("User-Agent", "")),
        "requestParameters": request_parameters(requested) or None,
        "responseElements": None,
    }
    if failure:
        record["errorCode"] = cloudtrail_error_code(source, failure[0], int(status))
        record["errorMessage"] = failure[1]
    elif not readonly or name in _ISSUES_CREDENTIALS:
        parsed = _safely(lambda: _parsed_response(response, name, int(status), headers or {}, body), {})
        record["responseElements"] = response_elements(parsed) or None
    record.update({"requestID": _request_id(headers or {}, body), "eventID": str(uuid.uuid4()),
                   "readOnly": readonly, "eventType": "AwsApiCall", "managementEvent": True,
                   "recipientAccountId": account, "eventCategory": "Management"})
    event = Event(HISTORY.next_seq(), int(started), account, region, record, who.username,
                  _resources(response, source, record["requestParameters"]))
    HISTORY.add(event)
    trails = {id(trail): trail for trail in trails_before + _logging_trails()
              if trail.account_id == account and _delivers(trail, region, source)}
    if trails:
        DELIVERY.add(list(trails.values()), region, record)
    return event


def _record_quietly(*args: Any, **kwargs: Any) -> None:
    try:
        record_call(*args, **kwargs)
    except Exception:  # recording must never break the call it records
        log.exception("could not record a CloudTrail event")


_original_call_action = BaseResponse.call_action


def call_action(self: BaseResponse) -> Any:
    started = time.time()
    trails_before = _logging_trails()
    result = _original_call_action(self)
    _record_quietly(self, started, _safely(self._get_action, ""), trails_before, result)
    return result


_original_bucket_response = S3Response.bucket_response


def bucket_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    """S3 bucket-level calls are management events; object-level ones are data events."""
    started = time.time()
    DELIVERY.flush()  # whoever reads S3 next sees every log file written so far
    trails_before = _logging_trails()
    result = _original_bucket_response(self, request, full_url, headers)
    action = self.data.get("Action", "") if isinstance(getattr(self, "data", None), dict) else ""
    name = _S3_NAMES.get(action, action)
    if name:
        bucket = getattr(self, "bucket_name", "")
        params = {"bucketName": bucket, "Host": request.host} if bucket else {"Host": request.host}
        _record_quietly(self, started, name, trails_before, result, params=lambda: params)
    return result


_original_key_response = S3Response.key_response


def key_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    DELIVERY.flush()
    return _original_key_response(self, request, full_url, headers)


# --------------------------------------------------------------------------- LookupEvents, DescribeTrails

def _lookup_error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


def _time(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    return parse_timestamp(value).timestamp()


def _query_digest(attribute: Any, start: Any, end: Any) -> str:
    return hashlib.sha256(json.dumps([attribute, start, end]).encode()).hexdigest()[:16]


def _token(event: Event, digest: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([event.time, event.seq, digest]).encode()).decode()


def _after_token(token: str, digest: str) -> tuple[int, int]:
    try:
        moment, seq, given = json.loads(base64.urlsafe_b64decode(token.encode()))
    except Exception:
        raise _lookup_error("InvalidNextTokenException", "Invalid next token.") from None
    if given != digest:
        raise _lookup_error("InvalidNextTokenException",
                            "The token was used in a request with different parameters.")
    return int(moment), int(seq)


def _attribute(params: dict[str, Any]) -> tuple[str, str] | None:
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise _lookup_error("InvalidLookupAttributesException",
                            "You can specify only one lookup attribute per request.")
    if not attributes:
        return None
    key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue")
    if key not in LOOKUP_ATTRIBUTES:
        raise _lookup_error("InvalidLookupAttributesException", f"{key} is not a valid lookup attribute.")
    if value is None or (key == "ReadOnly" and value not in ("true", "false")):
        raise _lookup_error("InvalidLookupAttributesException", f"{value!r} is not a valid value for {key}.")
    return key, value


def lookup_events(self: CloudTrailResponse) -> str:
    params = json.loads(self.body or "{}")
    attribute = _attribute(params)
    max_results = int(params.get("MaxResults") or 50)
    if not 1 <= max_results <= 50:
        raise _lookup_error("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    now = time.time()
    start = _time(params.get("StartTime"), now - 90 * 86400)
    end = _time(params.get("EndTime"), now)
    if start > end:
        raise _lookup_error("InvalidTimeRangeException", "Start time must be before end time.")
    digest = _query_digest(attribute, params.get("StartTime"), params.get("EndTime"))  # as sent
    events = HISTORY.select(self.current_account, self.region, start, end, attribute)
    if params.get("NextToken"):
        after = _after_token(params["NextToken"], digest)
        events = [event for event in events if (event.time, event.seq) < after]
    if params.get("EventCategory") == "insight":
        events = []
    page = events[:max_results]
    answer: dict[str, Any] = {"Events": [event.lookup_entry() for event in page]}
    if len(events) > max_results:
        answer["NextToken"] = _token(page[-1], digest)
    return json.dumps(answer)


def describe_trails(self: CloudTrailResponse) -> str:
    """trailNameList: only the trails named (by name or ARN); unknown names are left out."""
    names = self._get_param("trailNameList") or []
    trails = self.cloudtrail_backend.describe_trails(self._get_bool_param("includeShadowTrails", True))
    if names:
        trails = [trail for trail in trails if trail.trail_name in names or trail.arn in names]
    return json.dumps({"trailList": [trail.description(include_region=True) for trail in trails]})


# --------------------------------------------------------------------------- installation

_original_create_trail = CloudTrailBackend.create_trail
_original_delete_trail = CloudTrailBackend.delete_trail
_original_reset = MotoAPIBackend.reset


def create_trail(self: CloudTrailBackend, *args: Any, **kwargs: Any) -> Trail:
    trail = _original_create_trail(self, *args, **kwargs)
    _trails[id(trail)] = trail
    return trail


def delete_trail(self: CloudTrailBackend, name: str) -> None:
    trail = self.trails.get(name)
    _original_delete_trail(self, name)
    if trail is not None and name not in self.trails:
        _trails.pop(id(trail), None)


def reset(self: MotoAPIBackend) -> None:
    _original_reset(self)
    HISTORY.clear()
    DELIVERY.clear()
    _trails.clear()
    _callers.clear()


def install() -> None:
    BaseResponse.call_action = call_action  # type: ignore[method-assign]
    S3Response.bucket_response = bucket_response  # type: ignore[method-assign]
    S3Response.key_response = key_response  # type: ignore[method-assign]
    CloudTrailResponse.lookup_events = lookup_events  # type: ignore[attr-defined]
    CloudTrailResponse.describe_trails = describe_trails  # type: ignore[method-assign]
    CloudTrailBackend.create_trail = create_trail  # type: ignore[method-assign]
    CloudTrailBackend.delete_trail = delete_trail  # type: ignore[method-assign]
    MotoAPIBackend.reset = reset  # type: ignore[method-assign]
