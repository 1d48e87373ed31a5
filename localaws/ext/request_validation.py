"""Every API request is held to its operation's input shape in botocore's service model, as AWS's
front ends do, and refused with the service's error and AWS's message.

AWS: a request whose member breaks a constraint of the service's model (the models the SDKs are
generated from, pinned here with botocore: a string's or list's min/max length, a number's min/max
value, an enum, a pattern, a required member) is refused before the service acts, with one message
listing every violation:
  "1 validation error detected: Value 'x' at 'logGroupName' failed to satisfy constraint: Member must
   satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
  "2 validation errors detected: Value '' at 'logGroupNamePrefix' failed to satisfy constraint: ...;
   Value '' at 'logGroupNamePrefix' failed to satisfy constraint: Member must have length greater than
   or equal to 1"
The path names members as the wire does with a lower-case first letter ('rotationRules.
automaticallyAfterDays'), a list's items by 1-based index ('logEvents.1.member.timestamp'); a sensitive
member's value is never quoted ("Value at 'secretBinary' failed to satisfy constraint"). Each service
answers it with its own error code (SERVICES, with where each was seen); ECR words it its own way.
botocore's client already refuses a missing required member, a wrong type and a too-short value
before sending; what only the server catches is the rest (max, enum, pattern).
moto 5.2.5 checks a few of these by hand in some services and none in most.

Services left out (their answers are their own, not this generic one, or were not found publicly):
EC2 (InvalidParameterValue, per parameter), RDS, ECS, CloudTrail, S3 (its REST calls bypass
call_action). Refusals happen after authentication and authorization (iam_enforcement), so a caller
without permission still gets AccessDenied.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator
from xml.sax.saxutils import escape

from botocore.model import Shape
from moto.core.exceptions import JsonRESTError
from moto.core.model import OperationModel
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.request import determine_request_protocol
from moto.core.responses import BaseResponse
from moto.core.utils import get_service_model
from werkzeug.exceptions import HTTPException

log = logging.getLogger("localaws.request_validation")


@dataclass(frozen=True)
class Service:
    code: str  # the error code the service answers a constraint violation with
    seen: str  # where AWS's answer was seen


SERVICES = {
    "secretsmanager": Service(
        "ValidationException",
        "kubernetes-sigs/cluster-api-provider-aws#1531 (\"ValidationException: 1 validation error detected: Value at "
        "'secretBinary' failed to satisfy constraint: Member must have length less than or equal to 10240\"); "
        "jenkinsci/aws-secrets-manager-credentials-provider-plugin#235 ('filters.1.member.values')"),
    "lambda": Service(
        "ValidationException",
        "matt-filion/serverless-external-s3-event#51 ('statementId' length); Lambda API reference, Common errors"),
    "logs": Service(
        "InvalidParameterException",
        "fluent-plugins-nursery/fluent-plugin-cloudwatch-logs#223 (two errors, '; ' between them), "
        "cisagov/crossfeed#374 ('logStreamName' pattern)"),
    "kms": Service("ValidationException", "KMS API reference, Common errors: ValidationException"),
    "ssm": Service("ValidationException", "SSM API reference, Common errors: ValidationException"),
    "iam": Service("ValidationError", "IAM API reference, Common errors: ValidationError"),
    "sts": Service("ValidationError", "youyo/awslogin#20 ('roleSessionName' length); STS API reference, Common errors"),
    "cloudformation": Service(
        "ValidationError",
        "humanmade/cf-to-tf#5 (\"ValidationError: 1 validation error detected: Value '...' at 'stackName' failed "
        "to satisfy constraint: Member must satisfy regular expression pattern: "
        "[a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*\")"),
    "ecr": Service(
        "InvalidParameterException",
        "jenkins-x/jx#1344, aws/aws-dotnet-deploy#549 (\"Invalid parameter at 'repositoryName' failed to satisfy "
        "constraint: 'must have length greater than or equal to 2'\")"),
}
QUERY_PROTOCOLS = ("query", "ec2")


# --------------------------------------------------------------------------- the constraints

@dataclass(frozen=True)
class Violation:
    path: str
    value: Any
    sensitive: bool
    constraint: str  # "must have length less than or equal to 64"


def _path(parent: str, name: str) -> str:
    wire = name[:1].lower() + name[1:]
    return f"{parent}.{wire}" if parent else wire


@lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern[str] | None:
    """A model's (Java) pattern as Python's; None where Python reads it otherwise (not checked)."""
    # Java writes the astral planes as a surrogate pair range; Python's str holds them as characters.
    python = pattern.replace("\\uD800\\uDC00-\\uDBFF\\uDFFF", "\\U00010000-\\U0010FFFF")
    if "\\p{" in python or "\\P{" in python:
        return None
    try:
        return re.compile(python)
    except re.error:
        return None


def _sensitive(shape: Shape) -> bool:
    return bool(shape.serialization.get("sensitive") or shape.metadata.get("sensitive"))


def violations(shape: Shape, value: Any, path: str, sensitive: bool = False) -> Iterator[Violation]:
    """Each constraint of the shape the value breaks, in AWS's order (pattern, then length)."""
    sensitive = sensitive or _sensitive(shape)
    kind, meta = shape.type_name, shape.metadata
    if kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name not in value or value[name] is None:
                if name in shape.required_members:
                    yield Violation(_path(path, name), None, False, "must not be null")
                continue
            yield from violations(member, value[name], _path(path, name), sensitive)
        return
    if kind == "list" and isinstance(value, list):
        yield from _length(len(value), meta, path, value, sensitive)
        for index, item in enumerate(value, 1):
            yield from violations(shape.member, item, f"{path}.{index}.member", sensitive)
        return
    if kind == "map" and isinstance(value, dict):
        yield from _length(len(value), meta, path, value, sensitive)
        for key, item in value.items():
            yield from violations(shape.key, key, f"{path}.{key}.key", sensitive)
            yield from violations(shape.value, item, f"{path}.{key}.value", sensitive)
        return
    if kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            yield Violation(path, value, sensitive, f"must satisfy enum value set: [{', '.join(shape.enum)}]")
        pattern = meta.get("pattern")
        compiled = _pattern(pattern) if pattern else None
        if compiled is not None and not compiled.fullmatch(value):
            yield Violation(path, value, sensitive, f"must satisfy regular expression pattern: {pattern}")
        yield from _length(len(value), meta, path, value, sensitive)
    elif kind == "blob" and isinstance(value, (bytes, str)):
        yield from _length(len(value), meta, path, value, True)
    elif kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            yield Violation(path, value, sensitive, f"must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            yield Violation(path, value, sensitive, f"must have value less than or equal to {meta['max']}")


def _length(length: int, meta: dict[str, Any], path: str, value: Any, sensitive: bool) -> Iterator[Violation]:
    if "min" in meta and length < meta["min"]:
        yield Violation(path, value, sensitive, f"must have length greater than or equal to {meta['min']}")
    if "max" in meta and length > meta["max"]:
        yield Violation(path, value, sensitive, f"must have length less than or equal to {meta['max']}")


# --------------------------------------------------------------------------- AWS's message

def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_shown(item) for item in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _one(found: Violation) -> str:
    if found.value is None:
        return f"Value null at '{found.path}' failed to satisfy constraint: Member {found.constraint}"
    if found.sensitive:
        return f"Value at '{found.path}' failed to satisfy constraint: Member {found.constraint}"
    return f"Value '{_shown(found.value)}' at '{found.path}' failed to satisfy constraint: Member {found.constraint}"


def message(service: str, found: list[Violation]) -> str:
    if service == "ecr":  # ECR's own wording, one violation, a pattern in quotes
        constraint = re.sub(r"^must satisfy regular expression pattern: (.*)$", r"must satisfy regular expression '\1'",
                            found[0].constraint, flags=re.DOTALL)
        return f"Invalid parameter at '{found[0].path}' failed to satisfy constraint: '{constraint}'"
    count = f"{len(found)} validation error{'s' if len(found) > 1 else ''} detected"
    return f"{count}: " + "; ".join(_one(each) for each in found)


# --------------------------------------------------------------------------- the request

@lru_cache(maxsize=None)
def _service_model(service: str) -> Any:
    """The service's model, loaded once per server: reading botocore's JSON takes up to a second (SSM)."""
    return get_service_model(service)


@lru_cache(maxsize=None)
def _operation(service: str, operation: str) -> OperationModel | None:
    try:
        return _service_model(service).operation_model(operation)
    except Exception:  # noqa: BLE001 - an action the model does not have: moto answers it
        return None


class QueryError(HTTPException):
    """A query-protocol service's error answer (its ErrorResponse document)."""
    code = 400

    def __init__(self, error_code: str, text: str):
        super().__init__()
        self.error_type, self.message = error_code, text
        self.description = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{error_code}</Code>"
                            f"<Message>{escape(text)}</Message></Error><RequestId>0</RequestId></ErrorResponse>")


def _parameters(response: BaseResponse, operation: OperationModel) -> dict[str, Any]:
    request = response.normalized_request
    protocol = determine_request_protocol(operation.service_model, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation, map_type=dict)
    return parser.parse({"method": request.method, "values": request.values, "headers": request.headers,
                         "body": request.data, "url_path": request.path, "url_params": response.uri_match})


def refusal(response: BaseResponse) -> Exception | None:
    """The error AWS answers this request with for its shape (None: the shape takes it)."""
    service = response.boto3_service_name
    if service not in SERVICES:
        return None
    operation = _operation(service, response._get_action())
    if operation is None or operation.input_shape is None:
        return None
    try:
        found = list(violations(operation.input_shape, _parameters(response, operation), ""))
    except Exception:  # noqa: BLE001 - a request moto's parser cannot read is moto's to answer
        log.debug("could not read a %s request", service, exc_info=True)
        return None
    if not found:
        return None
    code, text = SERVICES[service].code, message(service, found)
    if operation.service_model.protocol in QUERY_PROTOCOLS:
        return QueryError(code, text)
    return JsonRESTError(code, text)


def install() -> None:
    authorize = BaseResponse._authenticate_and_authorize_normal_action  # iam_enforcement's, when installed first

    def authorize_then_validate(self: BaseResponse, resource: str = "*") -> None:
        authorize(self, resource)
        error = refusal(self)
        if error is not None:
            raise error

    BaseResponse._authenticate_and_authorize_normal_action = authorize_then_validate


if __name__ == "__main__":
    for name, service in SERVICES.items():
        print(f"{name}: {service.code}\n  seen: {service.seen}")
