"""The facts of a run (where it ran, against what, with which versions), for the report's
environment table.

They are read from the session fixtures' values as pytest sets them up (`aws`: the target;
`workshop`: the deployed stack), so the fixtures stay unaware of the report. Reading a fact
never fails a check: what cannot be read is shown as unknown.
"""
from __future__ import annotations

import logging
import platform
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import pytest

from suite.report.phases import mode_key

log = logging.getLogger("workshop.report")


@dataclass
class RunFacts:
    mode: str
    region: str = ""
    account: str = ""
    stack: str = ""
    run_id: str = ""
    aws_endpoint: str = ""
    moto: str = ""
    lambda_runtime: str = ""  # offline: which interpreter stood in for the functions' runtimes
    database_server: str = ""
    database_endpoint: str = ""
    template: str = ""
    # offline: what the stacks asked for that the local AWS does not model (read once the run is over)
    not_modelled: Callable[[], list[str]] = field(default=lambda: [], repr=False, compare=False)


FACTS_KEY = pytest.StashKey[dict[str, RunFacts]]()


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> Any:
    value = yield
    if fixturedef.argname in ("aws", "workshop"):
        facts = request.config.stash.setdefault(FACTS_KEY, {})
        try:
            (_note_target if fixturedef.argname == "aws" else _note_workshop)(facts, value)
        except Exception:  # the report is no reason to fail a check
            log.warning("run facts from the %s fixture could not be read", fixturedef.argname, exc_info=True)
    return value


def _note_target(facts: dict[str, RunFacts], target: Any) -> None:
    endpoint = target.endpoint_url or target.client("secretsmanager").meta.endpoint_url
    facts[target.mode] = RunFacts(
        mode=target.mode, region=target.region, account=target.account_id, stack=target.stack_name,
        run_id=target.run_id, aws_endpoint=endpoint + (f" ({target.endpoint_note})" if target.endpoint_note else ""),
        moto=target.versions.get("moto", ""), lambda_runtime=target.versions.get("Lambda runtime", ""),
        not_modelled=target.not_modelled)


def _note_workshop(facts: dict[str, RunFacts], workshop: Any) -> None:
    found = facts.setdefault(workshop.aws.mode, RunFacts(mode=workshop.aws.mode))
    outputs = workshop.outputs
    found.database_endpoint = f"{outputs.get('DBEndpointAddress', '?')}:{outputs.get('DBEndpointPort', '?')}"
    if outputs.get("BastionInstanceId"):
        found.database_endpoint += f" via Session Manager on the bastion {outputs['BastionInstanceId']}"
    found.template = workshop.stack.template_identity()
    found.database_server = database_version(workshop)


def database_version(workshop: Any) -> str:
    """The server's own word, asked before any rotation with the captured master credentials
    (a database login: no API call that the audit phase would see)."""
    from suite.attendee.database import connect

    try:
        with connect(workshop.hardcoded, workshop.aws.bastion, timeout=5) as connection:
            with connection.cursor() as cursor:
                cursor.execute("SELECT VERSION(), @@version_comment")
                version, comment = cursor.fetchone()
        return f"{version} ({comment})"
    except Exception as error:  # an unreachable database is the checks' finding to report, not ours
        return f"unknown ({type(error).__name__})"


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def not_modelled(facts: dict[str, RunFacts]) -> list[str]:
    """Every setting the run's local AWS was given and does not model, once, sorted (none live)."""
    found: set[str] = set()
    for fact in facts.values():
        try:
            found.update(fact.not_modelled())
        except Exception:  # the report is no reason to fail a check; the log says it could not be read
            log.warning("what the local AWS does not model could not be read", exc_info=True)
            found.add("unknown (the local AWS's list could not be read)")
    return sorted(found)


NOT_MODELLED_LABEL = "Not modelled offline"


def environment(facts: dict[str, RunFacts], duration: float, unmodelled: list[str] | None = None) -> dict[str, str]:
    """The environment table: label -> value; a value that differs by mode says which is which."""
    def per_mode(attribute: str) -> str:
        values = {mode: getattr(facts[mode], attribute) for mode in sorted(facts, key=mode_key)
                  if getattr(facts[mode], attribute)}
        if len(set(values.values())) <= 1:
            return next(iter(values.values()), "—")
        return " · ".join(f"{mode}: {value}" for mode, value in values.items())

    rows = {
        "Mode": ", ".join(sorted(facts, key=mode_key)) or "—",
        "Region": per_mode("region"),
        "Account": per_mode("account"),
        "Stack": per_mode("stack"),
        "Run id": per_mode("run_id"),
        "Run duration": f"{duration:.1f} s",
        "AWS endpoint": per_mode("aws_endpoint"),
        "Database endpoint": per_mode("database_endpoint"),
        "Database server": per_mode("database_server"),
        "Template": per_mode("template"),
        "Python": platform.python_version(),
        "boto3": _package("boto3"),
        "pytest": _package("pytest"),
        "Platform": platform.platform(),
    }
    if any(fact.moto for fact in facts.values()):
        rows["moto (local AWS)"] = per_mode("moto")
    if any(fact.lambda_runtime for fact in facts.values()):
        rows["Lambda runtime (local AWS)"] = per_mode("lambda_runtime")
    if unmodelled:  # offline could not prove these: said where the run's facts are read
        rows[NOT_MODELLED_LABEL] = f"{len(unmodelled)}: {', '.join(unmodelled)}"
    return rows
