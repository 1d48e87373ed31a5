"""AWS's answers, stored to compare the local AWS's with where an answer's shape is the point.

A snapshot (tests/fidelity/snapshots/NAME.json) holds one answer as botocore parses it, its ARNs, ids,
account ids and dates normalised to placeholders, and says where it comes from: recorded against AWS
(`pytest tests/fidelity -m live --snapshot-update`, with the date and region), or, until then, AWS's
documented example response (the API reference page's URL; the example is rarely the test's own
scenario). An answer matches its snapshot when each member the test names as its point is in both with
the same shape (or in neither), and every other member both hold has the same kind of value.
"""
from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:.+")
UUID = re.compile(r"[0-9A-Za-z]{8}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{4}-[0-9A-Za-z]{12}")
ACCOUNT = re.compile(r"\d{12}")
PLACEHOLDER = re.compile(r"<(arn|uuid|account-id|date)(?::\d+)?>")
LIST = "[]"  # a list's elements, in a shape and in a member's path: "Versions[].VersionId"


def normalise(value: Any, seen: dict[str, str] | None = None) -> Any:
    """The answer with what differs between accounts and runs made placeholders, map keys too: each
    distinct value its own, numbered ("<uuid:2>"), so that a value met twice reads as the same."""
    seen = {} if seen is None else seen
    if isinstance(value, dict):
        return {normalise(key, seen): normalise(item, seen) for key, item in value.items()
                if key != "ResponseMetadata"}
    if isinstance(value, list):
        return [normalise(item, seen) for item in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return "<date>"
    if isinstance(value, str):
        for pattern, kind in ((ARN, "arn"), (UUID, "uuid"), (ACCOUNT, "account-id")):
            if pattern.fullmatch(value):
                if value not in seen:
                    seen[value] = f"<{kind}:{1 + sum(p.startswith(f'<{kind}:') for p in seen.values())}>"
                return seen[value]
    return value


def _kind_of(text: str) -> str | None:
    """The placeholder's kind ("<uuid>" for "<uuid:2>"), None for any other text."""
    found = PLACEHOLDER.fullmatch(text)
    return f"<{found.group(1)}>" if found else None


def shape(value: Any) -> Any:
    """What an answer is made of: members and kinds of value (a list's elements merged into one)."""
    if isinstance(value, dict):
        merged_members: dict[str, Any] = {}
        for key, item in value.items():  # a map's keys that are ids are one member
            member = _kind_of(key) or key
            merged_members[member] = _merge(merged_members.get(member), shape(item))
        return merged_members
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = _merge(merged, shape(item))
        return {LIST: merged}
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return _kind_of(value) or "string"


def _merge(one: Any, other: Any) -> Any:
    """One shape for two elements of a list (a member only some have is kept)."""
    if one is None or one == other:
        return other
    if other is None:
        return one
    if isinstance(one, dict) and isinstance(other, dict):
        return {key: _merge(one.get(key), other.get(key)) for key in {**one, **other}}
    return f"{one} or {other}"


def _at(tree: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\]", path):
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _kinds(tree: Any, prefix: str = "") -> dict[str, str]:
    """path -> kind, for every member of a shape."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    found = {prefix: "list" if LIST in tree else "structure"} if prefix else {}
    for key, item in tree.items():
        path = f"{prefix}{key}" if key == LIST else f"{prefix}.{key}" if prefix else key
        found.update(_kinds(item, path))
    return found


def differences(answer: Any, stored: Any, members: list[str]) -> list[str]:
    """How a (normalised) answer differs from a stored one, in the members named and in kinds of value."""
    mine, theirs = shape(answer), shape(stored)
    found = []
    for path in members:
        here, there = _at(mine, path), _at(theirs, path)
        if (here is None) != (there is None):
            found.append(f"{path}: {'absent' if here is None else 'present'} here, "
                         f"{'absent' if there is None else 'present'} in AWS's answer")
        elif here != there:
            found.append(f"{path}: {json.dumps(here)} here, {json.dumps(there)} in AWS's answer")
    named = tuple(members)
    theirs_kinds = _kinds(theirs)
    for path, kind in _kinds(mine).items():
        if path in theirs_kinds and theirs_kinds[path] != kind and not path.startswith(named):
            found.append(f"{path}: {kind} here, {theirs_kinds[path]} in AWS's answer")
    return found


class AnswerSnapshots:
    def __init__(self, folder: Path, aws: Any, update: bool = False):
        self.folder, self.aws, self.update = folder, aws, update

    def match(self, name: str, answer: dict[str, Any], members: list[str]) -> None:
        """Compare `answer` with the stored snapshot NAME on `members` (its point); record it instead
        with --snapshot-update (live)."""
        path = self.folder / f"{name}.json"
        stored = json.loads(path.read_text()) if path.exists() else {}
        if self.update:
            kept = {key: stored[key] for key in ("operation", "url") if key in stored}
            path.write_text(json.dumps({
                **kept, "source": "recorded against AWS (pytest tests/fidelity -m live --snapshot-update)",
                "recorded": datetime.date.today().isoformat(), "region": self.aws.region,
                "answer": normalise(answer)}, indent=2, sort_keys=True) + "\n")
            return
        assert stored, f"no snapshot {path}: record it with pytest tests/fidelity -m live --snapshot-update"
        found = differences(normalise(answer), stored["answer"], members)
        assert not found, f"unlike AWS's answer ({path.name}: {stored['source']}):\n  " + "\n  ".join(found)
