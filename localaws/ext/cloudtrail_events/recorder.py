"""The recorder: every call the server answers becomes an event, as AWS records it.

Hooks moto's request handling (BaseResponse.call_action for every service, S3Response for
S3's bucket calls, which are management events; object calls are data events, not in Event
history) and turns the answer into a record (records.py) of the caller (identity.py), kept in
its account and region's history and queued for the trails that log it (models.py).
Calls AWS could not authenticate, and data events (Lambda Invoke, CloudWatch Logs data), make
no event. A call is never broken by its recording.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Callable

from botocore.parsers import PROTOCOL_PARSERS as RESPONSE_PARSERS
from moto.cloudtrail.models import Trail
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.responses import BaseResponse
from moto.core.utils import get_service_model
from moto.s3.responses import S3Response
from moto.utilities.utils import get_partition

from localaws.ext.cloudtrail_events.identity import find_caller, iso
from localaws.ext.cloudtrail_events.models import Event, delivers, events_backends, flush_all, logging_trails
from localaws.ext.cloudtrail_events.selectors import takes
from localaws.ext.cloudtrail_events.records import (DATA_EVENTS, EVENT_VERSION, ISSUES_CREDENTIALS,
                                                        RESOURCE_PARAMS, S3_NAMES, UNAUTHENTICATED,
                                                        cloudtrail_error_code, error_of, read_only,
                                                        request_parameters, response_elements)

log = logging.getLogger("localaws.cloudtrail")

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
        return response.backend.secrets[secret_id].arn
    except Exception:
        return secret_id


def _resources(response: BaseResponse, source: str, params: Any) -> list[tuple[str, str]]:
    if not isinstance(params, dict):
        return []
    found = []
    for member, kind in RESOURCE_PARAMS.get(source, {}).items():
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
    if not name or (response.boto3_service_name, name) in DATA_EVENTS:
        return None
    metadata = get_service_model(response.boto3_service_name).metadata
    source = metadata.get("signingName") or metadata["endpointPrefix"]
    failure = error_of(int(status), headers or {}, body)
    if failure and failure[0] in UNAUTHENTICATED:
        return None
    account, region = response.current_account, response.region
    backend = events_backends[account][region]
    key_id = response.get_access_key()
    who = backend.callers.get(key_id) or find_caller(account, get_partition(region), key_id)
    if who is None:
        return None
    backend.callers[key_id] = who
    readonly = read_only(name)
    requested = _safely(params or (lambda: _parsed_request(response, name)), {})
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION, "userIdentity": who.user_identity, "eventTime": iso(started),
        "eventSource": f"{source}.amazonaws.com", "eventName": name, "awsRegion": region,
        "sourceIPAddress": getattr(response.normalized_request, "remote_addr", None) or "127.0.0.1",
        "userAgent": str(response.headers.get("User-Agent", "")),
        "requestParameters": request_parameters(requested) or None,
        "responseElements": None,
    }
    if failure:
        record["errorCode"] = cloudtrail_error_code(source, failure[0], int(status))
        record["errorMessage"] = failure[1]
    elif not readonly or name in ISSUES_CREDENTIALS:
        parsed = _safely(lambda: _parsed_response(response, name, int(status), headers or {}, body), {})
        record["responseElements"] = response_elements(parsed) or None
    record.update({"requestID": _request_id(headers or {}, body), "eventID": str(uuid.uuid4()),
                   "readOnly": readonly, "eventType": "AwsApiCall", "managementEvent": True,
                   "recipientAccountId": account, "eventCategory": "Management"})
    event = Event(int(started), record, who.username, _resources(response, source, record["requestParameters"]))
    backend.add(event)
    trails = {id(trail): trail for trail in trails_before + logging_trails()
              if trail.account_id == account and delivers(trail, region, source) and takes(trail, record)}
    if trails:
        backend.deliver(list(trails.values()), record)
    return event


def _record_quietly(*args: Any, **kwargs: Any) -> None:
    try:
        record_call(*args, **kwargs)
    except Exception:  # recording must never break the call it records
        log.exception("could not record a CloudTrail event")


_original_call_action = BaseResponse.call_action


def call_action(self: BaseResponse) -> Any:
    started = time.time()
    trails_before = logging_trails()
    result = _original_call_action(self)
    _record_quietly(self, started, _safely(self._get_action, ""), trails_before, result)
    return result


_original_bucket_response = S3Response.bucket_response


def bucket_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    """S3 bucket-level calls are management events; object-level ones are data events."""
    started = time.time()
    flush_all()  # whoever reads S3 next sees every log file written so far
    trails_before = logging_trails()
    result = _original_bucket_response(self, request, full_url, headers)
    action = self.data.get("Action", "") if isinstance(getattr(self, "data", None), dict) else ""
    name = S3_NAMES.get(action, action)
    if name:
        bucket = getattr(self, "bucket_name", "")
        params = {"bucketName": bucket, "Host": request.host} if bucket else {"Host": request.host}
        _record_quietly(self, started, name, trails_before, result, params=lambda: params)
    return result


_original_key_response = S3Response.key_response


def key_response(self: S3Response, request: Any, full_url: str, headers: Any) -> Any:
    flush_all()
    return _original_key_response(self, request, full_url, headers)
