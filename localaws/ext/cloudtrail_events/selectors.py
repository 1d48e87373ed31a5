"""Which events a trail takes: its event selectors, as CloudTrail applies them.

AWS (CloudTrail user guide, "Logging management events"; GetEventSelectors API reference):
- A trail created without selectors logs all management events, read and write: GetEventSelectors
  returns one basic selector {ReadWriteType: All, IncludeManagementEvents: true, DataResources: [],
  ExcludeManagementEventSources: []}.
- Basic selectors: an event is delivered when some selector includes management events, its
  ReadWriteType admits the event (All, ReadOnly for readOnly events, WriteOnly for the others)
  and its ExcludeManagementEventSources does not name the event's source.
- Advanced selectors replace basic ones: an event is delivered when every field selector of
  some selector matches (eventCategory, readOnly, eventSource, eventName; Equals, NotEquals,
  StartsWith, NotStartsWith, EndsWith, NotEndsWith).
moto 5.2.5 stores selectors and returns none for a new trail; it delivers nothing at all.
"""
from __future__ import annotations

from typing import Any

from moto.cloudtrail.models import Trail

DEFAULT_SELECTOR = {"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                    "ExcludeManagementEventSources": []}


def _basic_takes(selector: dict[str, Any], record: dict[str, Any]) -> bool:
    if str(selector.get("IncludeManagementEvents", True)).lower() != "true":
        return False
    if record["eventSource"] in selector.get("ExcludeManagementEventSources", []):
        return False
    kind = selector.get("ReadWriteType", "All")
    return kind == "All" or kind == ("ReadOnly" if record["readOnly"] else "WriteOnly")


def _field_value(record: dict[str, Any], field: str) -> str:
    if field == "readOnly":
        return "true" if record["readOnly"] else "false"
    return str(record.get(field, ""))


def _field_matches(field_selector: dict[str, Any], record: dict[str, Any]) -> bool:
    value = _field_value(record, field_selector["Field"])
    tests = {"Equals": lambda v: value == v, "NotEquals": lambda v: value != v,
             "StartsWith": value.startswith, "NotStartsWith": lambda v: not value.startswith(v),
             "EndsWith": value.endswith, "NotEndsWith": lambda v: not value.endswith(v)}
    for operator, values in field_selector.items():
        if operator in ("Equals", "StartsWith", "EndsWith") and not any(tests[operator](v) for v in values):
            return False
        if operator in ("NotEquals", "NotStartsWith", "NotEndsWith") and not all(tests[operator](v) for v in values):
            return False
    return True


def basic_selectors(trail: Trail) -> list[dict[str, Any]]:
    if trail.event_selectors or trail.advanced_event_selectors:
        return trail.event_selectors
    return [dict(DEFAULT_SELECTOR)]


def takes(trail: Trail, record: dict[str, Any]) -> bool:
    """Whether the trail's selectors take this management event."""
    if trail.advanced_event_selectors and not trail.event_selectors:
        return any(all(_field_matches(fs, record) for fs in selector.get("FieldSelectors", []))
                   for selector in trail.advanced_event_selectors)
    return any(_basic_takes(selector, record) for selector in basic_selectors(trail))


_original_get = Trail.get_event_selectors


def get_event_selectors(self: Trail) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    basic, advanced = _original_get(self)
    return (basic or ([] if advanced else [dict(DEFAULT_SELECTOR)])), advanced


def put_event_selectors(self: Trail, event_selectors: list[dict[str, Any]],
                        advanced_event_selectors: list[dict[str, Any]]) -> None:
    """One kind replaces the other (moto kept advanced selectors once basic ones were put)."""
    self.event_selectors = list(event_selectors or [])
    self.advanced_event_selectors = [] if event_selectors else list(advanced_event_selectors or [])


def install() -> None:
    Trail.get_event_selectors = get_event_selectors
    Trail.put_event_selectors = put_event_selectors
