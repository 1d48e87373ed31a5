"""The state: each account and region's Event history, and the records waiting for the
buckets of the trails that log them (moto's BackendDict, so a reset clears it with the rest).

Event history keeps every management event of its account and region; LookupEvents reads it
newest first. A trail that is logging delivers its region's events (every region's for a
multi-region trail; IAM and other global services only with IncludeGlobalServiceEvents) to its
bucket, as gzipped JSON `{"Records": [...]}` files named
`[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_ID.json.gz`.
Calls made while it is stopped are never delivered (they stay in Event history).
"""
from __future__ import annotations

import gzip
import itertools
import json
import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from moto.cloudtrail.models import Trail, cloudtrail_backends
from moto.core.base_backend import BackendDict, BaseBackend
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from localaws.ext.cloudtrail_events.identity import Caller
from localaws.ext.cloudtrail_events.records import GLOBAL_SERVICES

log = logging.getLogger("localaws.cloudtrail")

FLUSH_EVERY = 100  # records per log file at most; S3 reads flush sooner
LOOKUP_ATTRIBUTES = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName",
                     "EventSource", "AccessKeyId")
_RECORD_FIELDS = {"EventId": "eventID", "EventName": "eventName", "EventSource": "eventSource"}
_SEQUENCE = itertools.count(1)  # ties in time are ordered by when they were recorded


@dataclass
class Event:
    time: int  # seconds: CloudTrail's resolution
    record: dict[str, Any]
    username: str
    resources: list[tuple[str, str]] = field(default_factory=list)
    seq: int = field(default_factory=lambda: next(_SEQUENCE))

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


class CloudTrailEventsBackend(BaseBackend):
    """One account and region: its Event history, the identities of its access keys, and the
    log files its events make for the trails that deliver them. Thread-safe: the server
    answers requests on many threads."""

    def __init__(self, region_name: str, account_id: str):
        super().__init__(region_name, account_id)
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._pending: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (bucket, prefix) -> records
        self.callers: dict[str, Caller] = {}  # access key id -> who: a key's identity never changes

    # --- Event history
    def add(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def select(self, start: float, end: float, attribute: tuple[str, str] | None) -> list[Event]:
        """Matching events, newest first (ties: most recently recorded first)."""
        with self._lock:
            events = list(self._events)
        chosen = [event for event in events if start <= event.time <= end
                  and (attribute is None or attribute[1] in event.attribute(attribute[0]))]
        chosen.sort(key=lambda event: (event.time, event.seq), reverse=True)
        return chosen

    # --- delivery
    def deliver(self, trails: list[Trail], record: dict[str, Any]) -> None:
        """Queue the record for each trail's bucket; a full file is written at once."""
        with self._lock:
            full = False
            for trail in trails:
                batch = self._pending.setdefault((trail.bucket_name, trail.s3_key_prefix or ""), [])
                batch.append(record)
                full = full or len(batch) >= FLUSH_EVERY
        if full:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for (bucket, prefix), records in pending.items():
            now = datetime.now(timezone.utc)
            key = (f"{prefix + '/' if prefix else ''}AWSLogs/{self.account_id}/CloudTrail/{self.region_name}/"
                   f"{now:%Y/%m/%d}/{self.account_id}_CloudTrail_{self.region_name}_{now:%Y%m%dT%H%MZ}_"
                   f"{secrets.token_hex(8)}.json.gz")
            body = gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=1)
            try:
                s3_backends[self.account_id][get_partition(self.region_name)].put_object(bucket, key, body)
            except Exception as error:  # a missing bucket loses the delivery, as in AWS
                log.warning("CloudTrail could not deliver %d records to s3://%s: %s", len(records), bucket, error)


events_backends = BackendDict(CloudTrailEventsBackend, "cloudtrail")


def logging_trails() -> list[Trail]:
    """The trails (of every account and region) that are logging now."""
    return [trail for account in list(cloudtrail_backends.values()) for backend in list(account.values())
            for trail in list(backend.trails.values()) if trail.status.is_logging]


def delivers(trail: Trail, region: str, service: str) -> bool:
    """Whether the trail takes an event of `service` in `region`."""
    if service in GLOBAL_SERVICES and not trail.include_global_service_events:
        return False
    return trail.is_multi_region or trail.region_name == region


def flush_all() -> None:
    """Write every waiting log file now (whoever reads S3 next sees them all)."""
    for account in list(events_backends.values()):
        for backend in list(account.values()):
            backend.flush()
