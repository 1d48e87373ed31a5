"""Who did what to the secret: CloudTrail's Event history, read the same way in both modes.

The checks ask LookupEvents, never the trail's S3 files, so the same code reads the local
AWS and a real account. What AWS imposes, and how this module meets it:
- Events appear minutes after the call (up to about 15): `await_events` polls, within a bound.
- LookupEvents allows 2 requests per second per account and region: every request of a
  client passed here (each page too) waits its turn, process-wide (`request_interval`, by
  default `MIN_REQUEST_INTERVAL`; the local AWS has no such limit, and its target says 0).
- Event times have whole seconds: a window is widened to whole seconds (start rounded down,
  end rounded up), or a call made in the window's first second would fall outside it.
- The account is shared (other people, other runs): a query is bounded by a time window, and
  events are narrowed to the stack's secret with `about_secret`, never "the newest event".
- One lookup attribute per request (an AWS rule): the rest is filtered here.

Usage:
    events = await_events(cloudtrail, start=t0, attribute={"EventName": "GetSecretValue"},
                          matches=about_secret(secret_arn), until=lambda found: len(found) >= 2,
                          timeout=900, interval=30)
    [(e.principal_arn, e.error_code) for e in events]
"""
from __future__ import annotations

import functools
import gzip
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from tenacity import RetryError, retry, retry_if_result, stop_after_delay, wait_fixed

MIN_REQUEST_INTERVAL = 0.5  # LookupEvents: 2 requests per second per account and region
LIVE_TIMEOUT = 15 * 60  # AWS: events can take up to about 15 minutes to appear


class EventsNotFound(AssertionError):
    """The awaited events did not appear within the bound."""


@dataclass(frozen=True)
class TrailEvent:
    """One CloudTrail event, the parts the checks read; `raw` is the whole CloudTrail record."""

    time: datetime
    event_name: str
    principal_arn: str
    principal_type: str
    username: str
    access_key_id: str
    secret: str | None  # the secret asked for: requestParameters.secretId (or the resource's name)
    error_code: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_lookup(cls, event: dict[str, Any]) -> "TrailEvent":
        record = json.loads(event.get("CloudTrailEvent") or "{}")
        identity = record.get("userIdentity") or {}
        params = record.get("requestParameters") or {}
        secrets = [r["ResourceName"] for r in event.get("Resources") or []
                   if r.get("ResourceType") == "AWS::SecretsManager::Secret"]
        return cls(
            time=event["EventTime"],
            event_name=event["EventName"],
            principal_arn=identity.get("arn") or identity.get("invokedBy") or "",
            principal_type=identity.get("type", ""),
            username=event.get("Username", ""),
            access_key_id=event.get("AccessKeyId") or identity.get("accessKeyId", ""),
            secret=params.get("secretId") or (secrets[0] if secrets else None),
            error_code=record.get("errorCode"),
            raw=record,
        )

    def __str__(self) -> str:
        who = self.principal_arn or self.username
        return f"{self.time:%H:%M:%S} {self.event_name} by {who} on {self.secret}: {self.error_code or 'ok'}"


class _Throttle:
    """At most one LookupEvents request per interval, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0.0

    def wait(self, interval: float, **_: Any) -> None:
        with self._lock:
            pause = self._last + interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            self._last = time.monotonic()


_THROTTLE = _Throttle()


def _throttled(cloudtrail: Any, interval: float) -> Any:
    if interval > 0 and not getattr(cloudtrail, "_smdemo_throttled", False):
        cloudtrail.meta.events.register("before-call.cloudtrail.LookupEvents",
                                        functools.partial(_THROTTLE.wait, interval))
        cloudtrail._smdemo_throttled = True
    return cloudtrail


def _utc(moment: datetime | float) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(moment, timezone.utc)


def whole_seconds(start: datetime | float, end: datetime | float) -> tuple[datetime, datetime]:
    """The window widened to CloudTrail's one-second resolution."""
    first = _utc(start).timestamp()
    last = _utc(end).timestamp()
    return _utc(math.floor(first)), _utc(math.ceil(last))


def lookup(cloudtrail: Any, start: datetime | float, end: datetime | float | None = None, *,
           request_interval: float = MIN_REQUEST_INTERVAL, **attribute: str) -> list[TrailEvent]:
    """Every event in [start, end] (end: now), newest first, e.g. `lookup(ct, t0, EventName="GetSecretValue")`.

    At most one attribute (EventName, Username, ResourceName, EventSource, AccessKeyId, ResourceType,
    EventId, ReadOnly), as LookupEvents takes; all pages, each request throttled.
    """
    if len(attribute) > 1:
        raise ValueError(f"LookupEvents takes one lookup attribute, not {sorted(attribute)}: filter the rest")
    first, last = whole_seconds(start, end if end is not None else time.time())
    query: dict[str, Any] = {"StartTime": first, "EndTime": last}
    if attribute:
        [(key, value)] = attribute.items()
        query["LookupAttributes"] = [{"AttributeKey": key, "AttributeValue": value}]
    pages = _throttled(cloudtrail, request_interval).get_paginator("lookup_events").paginate(**query)
    return [TrailEvent.from_lookup(event) for page in pages for event in page.get("Events", [])]


def about_secret(*secret_ids: str) -> Callable[[TrailEvent], bool]:
    """Events that name one of these secrets, by full ARN, name or partial ARN (as SecretId may)."""
    wanted = set().union(*(_spellings(secret_id) for secret_id in secret_ids))
    return lambda event: event.secret is not None and bool(_spellings(event.secret) & wanted)


_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")  # the random end of a secret's ARN


def _spellings(secret_id: str) -> set[str]:
    """A secret id and the other ways to write it: name, partial ARN (ARN without the suffix)."""
    if ":secret:" not in secret_id:
        return {secret_id}
    name = secret_id.split(":secret:", 1)[1]
    spellings = {secret_id, name}
    if _SUFFIX.search(name):
        spellings |= {secret_id[:-7], name[:-7]}
    return spellings


def await_events(cloudtrail: Any, *, start: datetime | float, end: datetime | float | None = None,
                 attribute: dict[str, str] | None = None, matches: Callable[[TrailEvent], bool] = lambda _: True,
                 until: Callable[[list[TrailEvent]], bool] = bool, timeout: float = LIVE_TIMEOUT,
                 interval: float = 30.0, request_interval: float = MIN_REQUEST_INTERVAL) -> list[TrailEvent]:
    """Poll Event history until the events that `matches` satisfy `until` (default: at least one).

    Returns those events, newest first. Raises EventsNotFound after `timeout` seconds, naming the
    query and what was found (event names and principals: events carry no secret values).
    """
    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(interval), retry=retry_if_result(lambda r: not until(r)))
    def poll() -> list[TrailEvent]:
        return [event for event in lookup(cloudtrail, start, end, request_interval=request_interval,
                                          **(attribute or {})) if matches(event)]

    try:
        return poll()
    except RetryError as gave_up:
        found: Iterable[TrailEvent] = gave_up.last_attempt.result() or []
        shown = "\n".join(f"  {event}" for event in list(found)[:20]) or "  (none)"
        raise EventsNotFound(f"CloudTrail: the expected events ({attribute or 'any'}) did not appear within "
                             f"{timeout:.0f}s of polling; matching events found:\n{shown}") from None


# --------------------------------------------------------------------------- the trail's bucket

def from_record(record: dict[str, Any]) -> TrailEvent:
    """A record of a delivered log file, read as the LookupEvents event it also is."""
    identity = record.get("userIdentity") or {}
    params = record.get("requestParameters") or {}
    return TrailEvent(time=datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")),
                      event_name=record.get("eventName", ""), principal_arn=identity.get("arn") or "",
                      principal_type=identity.get("type", ""), username=identity.get("userName", ""),
                      access_key_id=identity.get("accessKeyId", ""), secret=params.get("secretId"),
                      error_code=record.get("errorCode"), raw=record)


def delivered_records(s3: Any, bucket: str) -> list[TrailEvent]:
    """Every record of every CloudTrail log file in the bucket (AWSLogs/<account>/CloudTrail/...)."""
    records: list[TrailEvent] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            if "/CloudTrail/" not in entry["Key"] or not entry["Key"].endswith(".json.gz"):
                continue  # digest files and anything else
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            records.extend(from_record(r) for r in json.loads(gzip.decompress(body)).get("Records", []))
    return records


def await_delivered(s3: Any, bucket: str, matches: Callable[[TrailEvent], bool], *, timeout: float,
                    interval: float) -> list[TrailEvent]:
    """Poll the bucket until some delivered record `matches` (CloudTrail delivers about every 5 minutes)."""
    @retry(stop=stop_after_delay(timeout), wait=wait_fixed(interval), retry=retry_if_result(lambda r: not r))
    def poll() -> list[TrailEvent]:
        return [record for record in delivered_records(s3, bucket) if matches(record)]

    try:
        return poll()
    except RetryError:
        raise EventsNotFound(f"CloudTrail: no matching record was delivered to s3://{bucket} within "
                             f"{timeout:.0f}s of polling") from None
