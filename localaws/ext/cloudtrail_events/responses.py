"""LookupEvents (which moto 5.2.5 lacks) and DescribeTrails with trailNameList (which it ignores).

AWS (LookupEvents API reference): one LookupAttribute (EventId, EventName, ReadOnly, Username,
ResourceType, ResourceName, EventSource, AccessKeyId) and StartTime/EndTime (both inclusive);
MaxResults 1..50 (default 50); events newest first; a NextToken valid only for the same query.
"""
from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from botocore.utils import parse_timestamp
from moto.cloudtrail.responses import CloudTrailResponse

from localaws.ext.cloudtrail_events.exceptions import (InvalidLookupAttributesException,
                                                           InvalidMaxResultsException, InvalidNextTokenException,
                                                           InvalidTimeRangeException)
from localaws.ext.cloudtrail_events.models import LOOKUP_ATTRIBUTES, Event, events_backends

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
        raise InvalidNextTokenException() from None
    if given != digest:
        raise InvalidNextTokenException("The token was used in a request with different parameters.")
    return int(moment), int(seq)


def _attribute(params: dict[str, Any]) -> tuple[str, str] | None:
    attributes = params.get("LookupAttributes") or []
    if len(attributes) > 1:
        raise InvalidLookupAttributesException("You can specify only one lookup attribute per request.")
    if not attributes:
        return None
    key, value = attributes[0].get("AttributeKey"), attributes[0].get("AttributeValue")
    if key not in LOOKUP_ATTRIBUTES:
        raise InvalidLookupAttributesException(f"{key} is not a valid lookup attribute.")
    if value is None or (key == "ReadOnly" and value not in ("true", "false")):
        raise InvalidLookupAttributesException(f"{value!r} is not a valid value for {key}.")
    return key, value


def lookup_events(self: CloudTrailResponse) -> str:
    params = json.loads(self.body or "{}")
    attribute = _attribute(params)
    max_results = int(params.get("MaxResults") or 50)
    if not 1 <= max_results <= 50:
        raise InvalidMaxResultsException()
    now = time.time()
    start = _time(params.get("StartTime"), now - 90 * 86400)
    end = _time(params.get("EndTime"), now)
    if start > end:
        raise InvalidTimeRangeException()
    digest = _query_digest(attribute, params.get("StartTime"), params.get("EndTime"))  # as sent
    events = events_backends[self.current_account][self.region].select(start, end, attribute)
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


_original_create_trail = CloudTrailResponse.create_trail
# CreateTrail's output shape (CloudTrail API reference, CreateTrail "Response Elements"):
# moto answers the whole trail description, which also holds DescribeTrails' members.
CREATE_TRAIL_MEMBERS = {"Name", "S3BucketName", "S3KeyPrefix", "SnsTopicName", "SnsTopicARN",
                        "IncludeGlobalServiceEvents", "IsMultiRegionTrail", "TrailARN", "LogFileValidationEnabled",
                        "CloudWatchLogsLogGroupArn", "CloudWatchLogsRoleArn", "KmsKeyId", "IsOrganizationTrail"}


def create_trail(self: CloudTrailResponse) -> str:
    answer = json.loads(_original_create_trail(self))
    return json.dumps({key: value for key, value in answer.items() if key in CREATE_TRAIL_MEMBERS})


def describe_trails(self: CloudTrailResponse) -> str:
    """trailNameList: only the trails named (by name or ARN); unknown names are left out."""
    names = self._get_param("trailNameList") or []
    trails = self.cloudtrail_backend.describe_trails(self._get_bool_param("includeShadowTrails", True))
    if names:
        trails = [trail for trail in trails if trail.trail_name in names or trail.arn in names]
    return json.dumps({"trailList": [trail.description(include_region=True) for trail in trails]})


# --------------------------------------------------------------------------- installation
