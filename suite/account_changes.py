"""Which checks change what an attendee can see, and the read-only run that leaves those out.

Every check of a deployed phase says which it is, at collection: `@pytest.mark.read_only` (it only
reads) or `@pytest.mark.changes_account("rotates the secret")` (what it changes). A fixture that
changes the account says so with the `changes_account("...")` decorator below; a check that uses
one (directly or through other fixtures) changes the account too, whatever its own marker says:
one marked read-only is a collection error naming the fixture, so the classification cannot drift.

`--read-only` (the default with `--stack`) skips every check that changes the account, each
listed as "not run: would change the account (...)"; `--allow-changes` runs everything.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

import pytest

from suite.report.phases import DEPLOYED_PHASES, phase_of

READ_ONLY = "read_only"
CHANGES = "changes_account"
NOT_RUN = "not run: would change the account"

F = TypeVar("F", bound=Callable[..., Any])

# What the checks and fixtures change, in the words the report shows: what happens, and what of it stays.
ROTATES_SECRET = "rotates the workshop's secret (not undone: the password before it no longer works)"
RUNS_TASKS = "registers task definition revisions, runs tasks, adds roles and secrets (all removed at the end)"
PUSHES_IMAGE = "builds the image on the bastion and pushes it to the workshop's repository (left there)"
WRITES_OLDWAY_CNF = ("writes ~/oldway.cnf in ec2-user's home on the bastion (left there, as the guide's first step "
                     "has it)")
CREATES_IAM_USER = "creates an IAM user (deleted at the end)"
CREATES_SECRET = "creates a secret (deleted at the end)"
CREATES_DEMOUSER = "creates demouser in the database and its table (left there)"
CREATES_APPUSER = "creates appuser, the lab app's database user (left there), and turns its secret's rotation on"
ROTATES_APP_SECRET = ("rotates the lab app's secret, or the workshop's when the app has none of its own (not undone: "
                      "the password before it no longer works)")
STARTS_APP = "starts the lab's web app on the bastion (stopped at the end)"
STOPS_DATABASE = "stops the database and starts it again"


def changes_account(what: str) -> Callable[[F], F]:
    """Mark a fixture function as one that changes the account (put under @pytest.fixture)."""
    def mark(function: F) -> F:
        function.changes_account = what  # type: ignore[attr-defined]
        return function
    return mark


def fixture_changes(item: pytest.Item) -> dict[str, str]:
    """{fixture name: what it changes} for every fixture the check uses, however indirectly."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return {}
    found = {}
    for name in info.names_closure:
        for definition in info.name2fixturedefs.get(name, ()):
            what = getattr(definition.func, CHANGES, None)
            if isinstance(what, str):
                found[name] = what
    return found


def changes_of(item: pytest.Item) -> list[str]:
    """What the check changes (its own marker's words, then its fixtures' that those do not already say);
    empty: it only reads."""
    marker = item.get_closest_marker(CHANGES)
    own = [marker.args[0]] if marker and marker.args else []
    through = dict.fromkeys(fixture_changes(item).values())
    return [*own, *(what for what in through if not any(what in said for said in own))]


def classify(item: pytest.Item) -> None:
    """A deployed phase's check carries exactly one of the two markers, and a read-only one uses no
    fixture that changes the account; otherwise a usage error says what to write."""
    if phase_of(item.nodeid) not in DEPLOYED_PHASES or not isinstance(item, pytest.Function):
        return
    read_only, changes = item.get_closest_marker(READ_ONLY), item.get_closest_marker(CHANGES)
    if bool(read_only) == bool(changes):
        raise pytest.UsageError(
            f"{item.nodeid}: a deployed phase's check says whether it changes the account: "
            f"@pytest.mark.{READ_ONLY} or @pytest.mark.{CHANGES}(\"what it changes\") (suite/account_changes.py), "
            f"{'not both' if read_only else 'neither is there'}")
    if changes and not (changes.args and isinstance(changes.args[0], str) and changes.args[0].strip()):
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{CHANGES} needs the words of what it changes")
    through = fixture_changes(item)
    if read_only and through:
        raise pytest.UsageError(
            f"{item.nodeid} is marked {READ_ONLY} but uses fixtures that change the account: "
            + "; ".join(f"{name} ({what})" for name, what in through.items()))


def read_only_requested(config: pytest.Config) -> bool:
    """--read-only, or --stack without --allow-changes."""
    if config.getoption("--allow-changes"):
        return False
    return bool(config.getoption("--read-only") or config.getoption("--stack"))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smdemo")
    group.addoption("--read-only", action="store_true",
                    help="run only the checks that change nothing an attendee can see (the default with --stack); "
                         "the others are listed as not run")
    group.addoption("--allow-changes", action="store_true",
                    help="with --stack: run every check, also those that change the account (a rehearsal account)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{READ_ONLY}: the check changes nothing an attendee can see "
                                       "(suite/account_changes.py)")
    config.addinivalue_line("markers", f"{CHANGES}(what): the check changes the account, e.g. "
                                       "changes_account(\"rotates the secret\") (suite/account_changes.py)")
    if config.getoption("--read-only") and config.getoption("--allow-changes"):
        raise pytest.UsageError("--read-only and --allow-changes contradict each other: give one")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        classify(item)
    if not read_only_requested(config):
        return
    for item in items:
        if phase_of(item.nodeid) in DEPLOYED_PHASES:
            changes = changes_of(item)
            if changes:
                item.add_marker(pytest.mark.skip(reason=f"{NOT_RUN}: {'; '.join(changes)}"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A check that changes the account says so in its evidence, with what is undone and what is left
    (the markers' words say both)."""
    from suite.report.evidence import EVIDENCE_KEY

    seen = item.stash.get(EVIDENCE_KEY, None)
    changes = changes_of(item) if phase_of(item.nodeid) in DEPLOYED_PHASES else []
    if seen is not None and changes:
        seen.text("What this check changes in the account", "\n".join(changes))
