"""Every answer the local AWS sends is shaped as AWS documents it: checked on every call against
the botocore output shape of its operation.

AWS: an operation's response is its output shape, in its service's protocol, as the service
models (the ones the SDKs are generated from, pinned here with botocore) declare it: only the
members the shape has, each of its type and (for an enum) one of its values, every required
member present, and a member AWS has no value for left out, never sent as null.
moto 5.2.5 answers with extra members, nulls, wrong types and missing required members in
places; botocore's parsers hide most of it (they drop what they do not know), so a check that
read such a field could pass offline and fail live, or the reverse.

A violation does not change the answer: it is written, once per operation, member and problem,
to `response-violations.jsonl` in the state directory and logged; the suite fails the run
naming the operation and the member (LocalAWS.violations()).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

from botocore.model import Shape
from botocore.utils import parse_timestamp
from moto.core.responses import BaseResponse
from moto.core.utils import get_service_model

from localaws.ext.json_answers import json_protocol

log = logging.getLogger("localaws.shapes")
# Values AWS documents and answers although its model's enum leaves them out (EC2 API reference:
# InternetGatewayAttachment.State "available" for an attached internet gateway; Instance.Platform
# "windows" for Windows instances; VpcEndpoint.State in lower case, as its examples show "available").
DOCUMENTED_VALUES = {"AttachmentStatus": {"available"}, "PlatformValues": {"windows"},
                     "State": {"pendingAcceptance", "pending", "available", "deleting", "deleted", "rejected", "failed",
                               "expired", "partial"}}
VIOLATIONS_FILE = "response-violations.jsonl"
_seen: set[tuple[str, str, str]] = set()
_lock = threading.Lock()


# --------------------------------------------------------------------------- JSON protocols

def json_violations(shape: Shape, value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(member path, problem) for a JSON value against its shape."""
    if value is None:
        yield path, "null (AWS leaves out a member it has no value for)"
        return
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            yield path, f"a {type(value).__name__}, not an object"
            return
        by_name = {member.serialization.get("name", name): (name, member) for name, member in shape.members.items()
                   if member.serialization.get("location") is None}
        for key, inner in value.items():
            if key not in by_name:
                yield f"{path}.{key}", "not a member of the output shape"
            else:
                yield from json_violations(by_name[key][1], inner, f"{path}.{key}")
        for required in shape.required_members:
            if shape.members[required].serialization.get("location") is None and \
                    shape.members[required].serialization.get("name", required) not in value:
                yield f"{path}.{required}", "required, and missing"
    elif kind == "list":
        if not isinstance(value, list):
            yield path, f"a {type(value).__name__}, not a list"
            return
        for index, item in enumerate(value):
            yield from json_violations(shape.member, item, f"{path}[{index}]")
    elif kind == "map":
        if not isinstance(value, dict):
            yield path, f"a {type(value).__name__}, not a map"
            return
        for key, item in value.items():
            yield from json_violations(shape.value, item, f"{path}.{key}")
    else:
        yield from _scalar(shape, value, path)


def _scalar(shape: Shape, value: Any, path: str) -> Iterator[tuple[str, str]]:
    kind = shape.type_name
    if kind == "string":
        if not isinstance(value, str):
            yield path, f"a {type(value).__name__}, not a string"
        elif shape.enum and value not in shape.enum and value not in DOCUMENTED_VALUES.get(shape.name, ()):
            yield path, f"{value!r} is not one of its values ({', '.join(shape.enum[:6])}...)"
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            yield path, f"a {type(value).__name__}, not an integer"
    elif kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            yield path, f"a {type(value).__name__}, not a number"
    elif kind == "boolean":
        if not isinstance(value, bool):
            yield path, f"a {type(value).__name__}, not a boolean"
    elif kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            yield path, f"a {type(value).__name__}, not a timestamp"
        elif isinstance(value, str):
            try:
                parse_timestamp(value)
            except (ValueError, TypeError):
                yield path, f"{value!r} is not a timestamp"
    elif kind == "blob" and not isinstance(value, str):
        yield path, f"a {type(value).__name__}, not base64 text"


# --------------------------------------------------------------------------- XML protocols

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_violations(shape: Shape, element: ET.Element, path: str, protocol: str) -> Iterator[tuple[str, str]]:
    kind = shape.type_name
    if kind == "structure":
        names: dict[str, Shape] = {}
        for name, member in shape.members.items():
            if member.serialization.get("location") or member.serialization.get("xmlAttribute"):
                continue
            names[member.serialization.get("name", name)] = member
            names.setdefault(name, member)
        present = set()
        for child in element:
            tag = _local(child.tag)
            member = names.get(tag)
            if member is None:
                if not (protocol == "ec2" and tag == "requestId"):
                    yield f"{path}.{tag}", "not a member of the output shape"
                continue
            present.add(tag)
            if member.type_name == "list" and member.serialization.get("flattened"):
                yield from xml_violations(member.member, child, f"{path}.{tag}[]", protocol)  # one of its items
            else:
                yield from xml_violations(member, child, f"{path}.{tag}", protocol)
        for required in shape.required_members:
            member = shape.members[required]
            if not member.serialization.get("location") and \
                    member.serialization.get("name", required) not in present and required not in present:
                yield f"{path}.{required}", "required, and missing"
    elif kind == "list":
        item_name = shape.member.serialization.get("name", "item" if protocol == "ec2" else "member")
        if shape.serialization.get("flattened"):
            return  # its items stand in the parent, under the member's name: checked there
        for index, child in enumerate(element):
            if _local(child.tag) != item_name:
                yield f"{path}.{_local(child.tag)}", f"not a list item (<{item_name}>)"
            else:
                yield from xml_violations(shape.member, child, f"{path}[{index}]", protocol)
    elif kind == "map":
        return  # rare in the services the suite calls; entries are checked by botocore's parser
    else:
        text = element.text or ""
        if list(element):
            yield path, "elements inside a scalar"
        elif kind in ("integer", "long"):
            if not text.strip().lstrip("-").isdigit():
                yield path, f"{text!r} is not an integer"
        elif kind == "boolean":
            if text.strip() not in ("true", "false"):
                yield path, f"{text!r} is not a boolean"
        elif kind in ("float", "double"):
            try:
                float(text)
            except ValueError:
                yield path, f"{text!r} is not a number"
        elif kind == "timestamp":
            try:
                parse_timestamp(text.strip())
            except (ValueError, TypeError):
                yield path, f"{text!r} is not a timestamp"
        elif kind == "string" and shape.enum and text not in shape.enum and \
                text not in DOCUMENTED_VALUES.get(shape.name, ()):
            yield path, f"{text!r} is not one of its values ({', '.join(shape.enum[:6])}...)"


# --------------------------------------------------------------------------- one answer

def violations(service: str, operation: str, status: int, body: Any) -> list[tuple[str, str]]:
    """(member path, problem) of a successful answer; an error answer is not an output shape."""
    if status >= 300:
        return []
    model = get_service_model(service)
    output = model.operation_model(operation).output_shape
    text = body.decode("utf-8", "replace") if isinstance(body, (bytes, bytearray)) else str(body or "")
    if output is None:
        return []
    if output.serialization.get("payload"):
        return []  # a raw payload (Lambda Invoke's): not a shape's members
    if json_protocol(model) and text.lstrip()[:1] in ("{", ""):
        if not text.strip():
            return []  # an empty answer: nothing to hold to a shape
        try:
            document = json.loads(text)
        except ValueError:
            return [(operation, "the body is not JSON")]
        return list(json_violations(output, document, operation))
    if not text.strip():
        return []
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return [(operation, "the body is not XML")]
    if model.protocol == "query":
        wrapper = output.serialization.get("resultWrapper")
        found = next((child for child in root if _local(child.tag) == wrapper), None) if wrapper else root
        if found is None:
            return [(operation, f"no <{wrapper}> element")]
        return list(xml_violations(output, found, operation, "query"))
    return list(xml_violations(output, root, operation, "query" if model.protocol == "rest-xml" else model.protocol))


# S3 answers outside call_action (REST, by bucket and key): its operation from the request,
# for those with an XML answer (the others answer headers, nothing, or an object's bytes).
S3_BUCKET_GETS = (("versions", "ListObjectVersions"), ("list-type", "ListObjectsV2"), ("tagging", "GetBucketTagging"),
                  ("location", "GetBucketLocation"), ("acl", "GetBucketAcl"), ("versioning", "GetBucketVersioning"),
                  ("encryption", "GetBucketEncryption"), ("uploads", "ListMultipartUploads"))


def s3_operation(method: str, query: dict[str, Any], key: bool) -> str | None:
    if key:
        return None
    if method == "GET":
        return next((operation for marker, operation in S3_BUCKET_GETS if marker in query),
                    None if set(query) & {"policy", "cors", "lifecycle", "website", "logging", "notification",
                                          "replication", "ownershipControls", "publicAccessBlock", "object-lock",
                                          "inventory", "metrics", "analytics", "intelligent-tiering", "accelerate",
                                          "requestPayment"} else "ListObjects")
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    return None


def record(service: str, operation: str, found: list[tuple[str, str]]) -> None:
    state = os.environ.get("LOCALAWS_STATE_DIR")
    new = []
    with _lock:
        for path, problem in found:
            key = (service, path, problem)
            if key not in _seen:
                _seen.add(key)
                new.append({"service": service, "operation": operation, "member": path, "problem": problem})
        if new and state:
            with open(Path(state) / VIOLATIONS_FILE, "a") as out:
                out.writelines(json.dumps(entry) + "\n" for entry in new)
    for entry in new:
        log.warning("%s %s: %s: %s", service, operation, entry["member"], entry["problem"])


def install() -> None:
    answer = BaseResponse.call_action  # what the extensions installed before made of it

    def call_action(self: BaseResponse) -> Any:
        result = answer(self)
        try:
            operation = self._get_action()
            found = violations(self.boto3_service_name, operation, int(result[0]), result[2])
            if found:
                record(self.boto3_service_name, operation, found)
        except Exception:  # noqa: BLE001 - checking an answer must never break it
            log.debug("could not check an answer", exc_info=True)
        return result

    BaseResponse.call_action = call_action

    from moto.s3.responses import S3Response

    bucket_answer = S3Response.bucket_response

    def bucket_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
        result = bucket_answer(self, request, full_url, headers)
        try:
            query = dict(getattr(request, "args", None) or {})
            operation = s3_operation(request.method, query, key=False)
            if operation and isinstance(result, tuple) and len(result) == 3:
                found = violations("s3", operation, int(result[0]), result[2])
                if found:
                    record("s3", operation, found)
        except Exception:  # noqa: BLE001 - checking an answer must never break it
            log.debug("could not check an S3 answer", exc_info=True)
        return result

    S3Response.bucket_response = bucket_response
