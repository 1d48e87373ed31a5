"""The targets of a many-account run: `--targets FILE` (live) or `--accounts N` (offline, one local AWS).

A targets file is YAML, a list of targets, each a mapping:

    - name: attendee-01          # unique: the board's row, the JUnit property workshop_verdict:<name>
      profile: class-01          # a profile of the AWS config, or:
      role_arn: arn:aws:iam::111111111111:role/InstructorCheck   # assumed from the default credentials
      region: eu-west-1
      stack: smdemo              # optional: verify this deployed stack (--stack for this target alone)

Offline, `--accounts N` makes N targets of one local AWS, each its own account (moto keeps every account's
resources apart and tells them by the access key a request is signed with).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")  # a pytest param id and a JUnit property suffix
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$")
FIELDS = {"name", "profile", "role_arn", "region", "stack"}
# Offline accounts: the local AWS's own account first, then made-up twelve-digit ids.
OFFLINE_ACCOUNTS = ["123456789012", *(f"{number:012d}" for number in range(111111111111, 999999999999, 111111111111))]


class TargetsFileError(ValueError):
    pass


@dataclass(frozen=True)
class TargetSpec:
    name: str
    region: str | None = None
    profile: str | None = None
    role_arn: str | None = None
    stack: str | None = None
    account: str | None = None  # offline: the local AWS's account this target is
    unusable_key: bool = False  # offline self-test: this account's key is one the local AWS never issued

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_targets(path: Path) -> list[TargetSpec]:
    """The targets of a file; TargetsFileError says what is wrong and where."""
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as error:
        raise TargetsFileError(f"--targets {path}: {error}") from None
    entries = document.get("targets") if isinstance(document, dict) else document
    if not isinstance(entries, list) or not entries:
        raise TargetsFileError(f"--targets {path}: expected a list of targets (name, profile or role_arn, region)")
    specs: list[TargetSpec] = []
    for index, entry in enumerate(entries, start=1):
        where = f"--targets {path}, target {index}"
        if not isinstance(entry, dict):
            raise TargetsFileError(f"{where}: expected a mapping (name, profile or role_arn, region, stack)")
        unknown = set(entry) - FIELDS
        if unknown:
            raise TargetsFileError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(FIELDS)})")
        name = str(entry.get("name", ""))
        if not NAME.match(name):
            raise TargetsFileError(f"{where}: name {name!r} must be letters, digits, '.', '_' or '-' (at most 63)")
        if entry.get("role_arn") and not ROLE_ARN.match(str(entry["role_arn"])):
            raise TargetsFileError(f"{where}: role_arn {entry['role_arn']!r} is not an IAM role ARN")
        if not entry.get("region"):
            raise TargetsFileError(f"{where} ({name}): a region is required")
        specs.append(TargetSpec(name=name, region=str(entry["region"]), profile=_text(entry.get("profile")),
                                role_arn=_text(entry.get("role_arn")), stack=_text(entry.get("stack"))))
    names = [spec.name for spec in specs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise TargetsFileError(f"--targets {path}: names must be unique: {', '.join(repeated)}")
    return specs


def offline_accounts(count: int, unusable: tuple[str, ...] = ()) -> list[TargetSpec]:
    """`--accounts N`: N accounts of one local AWS, named account-1 ... account-N."""
    if not 1 <= count <= len(OFFLINE_ACCOUNTS):
        raise TargetsFileError(f"--accounts takes 1 to {len(OFFLINE_ACCOUNTS)}")
    return [TargetSpec(name=f"account-{index}", account=OFFLINE_ACCOUNTS[index - 1],
                       unusable_key=f"account-{index}" in unusable) for index in range(1, count + 1)]


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
