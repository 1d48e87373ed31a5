"""Every check of the phases fails on a workshop broken the way it guards against.

Each case copies the workshop folder (workshop/), breaks it (see tests/support/faults/), runs the
offline phase against the copy in a separate pytest, and reads that run's JUnit report. A valid
variant (a workshop AWS accepts, changed the same way) runs whole phases, which must all pass.
The runs share nothing but the machine (each has its own local AWS, database and loopback
addresses), so they are started together, a few at a time (SMDEMO_SELFTEST_JOBS, default 3:
most of a run is waiting), as soon as the first case needs one, and beside them at once those that
wait out a timeout (Fault.waits); each case awaits its own.
One run is the other way round: a workshop that is right but slow (its app) must pass.
"""
from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest

from suite.controls.static_scan import WARM_CHECKOV
from suite.report.phases import check_name
from tests.support.forked_pytest import run_pytest
from tests.support.faults import (ACCEPTED_VARIANTS, APP_FAULTS, AUDIT_FAULTS, DELETION_PROTECTED_FAULT,
                                   FARGATE_FAULTS, RDS_FAULTS, SECRET_WITH_USABLE_CUSTOMER_MANAGED_KEY, SLOW_APP,
                                   TEARDOWN_FAULT, TEMPLATE_FAULTS, TLS_USER_FAULTS, Fault, Variant)

SELFTEST_MODE = "offline"  # the mode every self-test run uses
PROJECT_ROOT = Path(__file__).resolve().parents[2]
REPOSITORY_WORKSHOP = PROJECT_ROOT / "workshop"


def outcomes(junit: Path) -> dict[str, str]:
    """check name (without the mode id) -> passed / failed / error / skipped. A parametrized check is
    there twice: by its name alone (failed if any of its cases did) and with its own parameters
    (`test_network_controls_are_met[EC2.13]`)."""
    results: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        verdict = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                verdict = "failed" if tag == "failure" else tag
        for key in dict.fromkeys((name.split("[")[0], check_name(name, SELFTEST_MODE))):
            results[key] = verdict if results.get(key, "passed") == "passed" else results[key]
    return results


def selection(checks: tuple[str, ...]) -> list[str]:
    """`-k` for these checks: a name, or a name and its parameter (`test_x[EC2.13]`: both must match)."""
    if not checks:
        return []
    terms = [f"({name} and {params.rstrip(']')})" if params else name
             for name, _, params in (check.partition("[") for check in checks)]
    return ["-k", " or ".join(terms)]


def run_phase_against(workshop: Path, phase: str | tuple[str, ...], report_dir: Path, checks: tuple[str, ...] = (),
                      *, environ: Mapping[str, str], **environment: str) -> tuple[int, dict[str, str], str]:
    """The offline phase (or phases) against a copy of the workshop: only `checks` (their fixtures deploy
    and do what they need), or the whole phase. `environ`: the session's environment, read before the run's
    thread started (pytest sets and deletes PYTEST_CURRENT_TEST in os.environ meanwhile: reading it here
    raced with that, a KeyError in CI)."""
    junit = report_dir / "junit.xml"
    env = dict(environ, **environment)
    done = run_pytest(
        ["-m", SELFTEST_MODE, *([phase] if isinstance(phase, str) else phase),
         *selection(checks), "-q", "-p", "no:cacheprovider",
         f"--junitxml={junit}", "--rotation-timeout", "8", "--workshop", str(workshop),
         f"--basetemp={report_dir / 'tmp'}"],
        cwd=PROJECT_ROOT, env=env, timeout=600,
    )
    return done.returncode, outcomes(junit) if junit.exists() else {}, done.stdout[-3000:]


def workshop_copy(tmp_path: Path, fault: Fault | Variant | None = None) -> Path:
    workshop = tmp_path / "workshop"
    shutil.copytree(REPOSITORY_WORKSHOP, workshop, ignore=shutil.ignore_patterns("__pycache__"))
    if fault is not None:
        fault.apply(workshop)
    return workshop


PHASE_FAULTS = (("tests/audit", AUDIT_FAULTS), ("tests/app", APP_FAULTS), ("tests/fargate", FARGATE_FAULTS),
                ("tests/rds", RDS_FAULTS), ("tests/tls_user", TLS_USER_FAULTS),
                ("tests/template", TEMPLATE_FAULTS))  # longest first (the Template phase deploys nothing: seconds)
CASES = [pytest.param(phase, fault, id=f"{phase.rsplit('/', 1)[-1]}-{fault.name}")
         for phase, faults in PHASE_FAULTS for fault in faults]
WITHOUT_EVENT_HISTORY = "without-event-history"
NAME_FREED_ON_DELETE = "deleted-secret-frees-its-name"
CLEANUP_CHECKS = ("test_lab_cleanup_deletes_recoverably_and_restores",)
LEFT_BEHIND = "teardown-left-behind"
PROTECTED = DELETION_PROTECTED_FAULT.name
# Variants of tests/support/faults' ACCEPTED_VARIANTS (each with the phases it runs): READY as well.
VARIANTS = [pytest.param(variant, id=f"valid-{variant.name}") for variant in ACCEPTED_VARIANTS]
RunResult = tuple[int, dict[str, str], str]
# Valid variants: workshops AWS accepts, whose whole phases must pass offline.
USABLE_CUSTOMER_MANAGED_KEY = "secret-with-usable-customer-managed-key"
VALID_VARIANTS = [pytest.param(phase, id=f"{USABLE_CUSTOMER_MANAGED_KEY}-{phase.rsplit('/', 1)[-1]}")
                  for phase in ("tests/fargate", "tests/rds", "tests/audit", "tests/template")]  # longest first
EVENT_HISTORY_CHECKS = ("test_operator_reads_are_recorded", "test_execution_role_read_the_secret_when_the_task_started",
                        "test_rotation_is_recorded_with_its_principals", "test_denied_read_is_recorded",
                        "test_no_event_contains_a_secret_value")
EXTRA_RUNS = {"test_audit_checks_fail_without_event_history": WITHOUT_EVENT_HISTORY,
              "test_cleanup_check_fails_when_a_deleted_secret_frees_its_name": NAME_FREED_ON_DELETE,
              "test_teardown_fails_when_the_stack_leaves_something_behind": LEFT_BEHIND,
              "test_app_phase_passes_a_correct_app_that_answers_slowly": SLOW_APP.name}


@pytest.fixture(scope="module")
def broken_workshop_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                         preloaded_local_aws: str, warm_checkov: str) -> Iterator[dict[str, Future[RunResult]]]:
    """The offline runs of the selected cases, all submitted at once: case id -> its run's result. Each run's
    local AWS is forked from one that imported moto once, and its checkov scan from one that imported checkov once
    (what a run does with them is the same)."""
    wanted = {item.callspec.id if hasattr(item, "callspec") else EXTRA_RUNS.get(item.name, item.name)
              for item in request.session.items if item.module is request.module}
    # Runs that mostly wait out a timeout (Fault.waits) each get a thread of their own beside the pool, at once:
    # in the pool's slots they left the machine's cores idle for the first minute of the session.
    waiting = [case for case in CASES if case.id in wanted and case.values[1].waits]
    environ = {**os.environ, "LOCALAWS_PRELOADED": preloaded_local_aws, WARM_CHECKOV: warm_checkov}
    run_phase = partial(run_phase_against, environ=environ)
    with ThreadPoolExecutor(int(os.environ.get("SMDEMO_SELFTEST_JOBS", "3"))) as pool, \
            ThreadPoolExecutor(max(len(waiting), 1)) as waiting_pool:
        runs: dict[str, Future[RunResult]] = {}

        def submit_case(case: Any, executor: ThreadPoolExecutor) -> None:  # one of CASES (a pytest.param)
            folder = tmp_path_factory.mktemp(case.id)
            phase, fault = case.values
            # Only the checks the fault must fail: the rest of the phase says nothing about them.
            runs[case.id] = executor.submit(run_phase, workshop_copy(folder, fault), phase, folder,
                                            fault.caught_by)

        for case in waiting:
            submit_case(case, waiting_pool)
        if WITHOUT_EVENT_HISTORY in wanted:
            folder = tmp_path_factory.mktemp(WITHOUT_EVENT_HISTORY)
            runs[WITHOUT_EVENT_HISTORY] = pool.submit(run_phase, workshop_copy(folder), "tests/audit",
                                                      folder, EVENT_HISTORY_CHECKS,
                                                      LOCALAWS_WITHOUT="cloudtrail_events")
        if NAME_FREED_ON_DELETE in wanted:
            folder = tmp_path_factory.mktemp(NAME_FREED_ON_DELETE)
            runs[NAME_FREED_ON_DELETE] = pool.submit(run_phase, workshop_copy(folder), "tests/tls_user",
                                                     folder, CLEANUP_CHECKS, LOCALAWS_WITHOUT="secrets_deletion")
        if LEFT_BEHIND in wanted:
            folder = tmp_path_factory.mktemp(LEFT_BEHIND)
            runs[LEFT_BEHIND] = pool.submit(run_phase, workshop_copy(folder, TEARDOWN_FAULT), "tests/rds",
                                            folder, ("test_credentials_from_secret_read_bookinfo",))
        if PROTECTED in wanted:
            folder = tmp_path_factory.mktemp(PROTECTED)
            runs[PROTECTED] = pool.submit(run_phase, workshop_copy(folder, DELETION_PROTECTED_FAULT),
                                          "tests/rds", folder, ("test_credentials_from_secret_read_bookinfo",))
        for variant in VARIANTS:
            if variant.id in wanted:
                folder = tmp_path_factory.mktemp(variant.id)
                [valid] = variant.values
                runs[variant.id] = pool.submit(run_phase, workshop_copy(folder, valid), valid.phases, folder,
                                               valid.checks)
        key_phases = tuple(variant.values[0] for variant in VALID_VARIANTS if variant.id in wanted)
        if key_phases:  # one run of its phases, as a full run has them: one deployment, not one per phase
            folder = tmp_path_factory.mktemp(USABLE_CUSTOMER_MANAGED_KEY)
            workshop = workshop_copy(folder)
            SECRET_WITH_USABLE_CUSTOMER_MANAGED_KEY(workshop)
            together = pool.submit(run_phase, workshop, key_phases, folder)
            runs.update({variant.id: together for variant in VALID_VARIANTS if variant.id in wanted})
        if SLOW_APP.name in wanted:
            folder = tmp_path_factory.mktemp(SLOW_APP.name)
            runs[SLOW_APP.name] = pool.submit(run_phase, workshop_copy(folder, SLOW_APP), "tests/app", folder)
        for case in CASES:
            if case.id in wanted and case.id not in runs:
                submit_case(case, pool)
        try:
            yield runs
        finally:
            for run in runs.values():
                run.cancel()  # an interrupted session does not start the rest


@pytest.mark.parametrize(("phase", "fault"), CASES)
def test_check_fails_on_broken_workshop(phase: str, fault: Fault, broken_workshop_runs, request):
    status, results, output = broken_workshop_runs[request.node.callspec.id].result()

    assert status != 0, f"the suite passed on a workshop where {fault.breaks}:\n{output}"
    for check in fault.caught_by:
        assert results.get(check) in ("failed", "error"), (
            f"{check} did not fail when {fault.breaks}; outcomes: {results}\n{output}")
    if phase == "tests/template":  # read, not deployed: the verdict blames the Template phase
        assert "workshop verdict: NOT READY: failed: Template (offline)" in output, output


def test_audit_checks_fail_without_event_history(broken_workshop_runs):
    """The CloudTrail checks are not vacuous: with no event history they fail, not pass."""
    status, results, output = broken_workshop_runs[WITHOUT_EVENT_HISTORY].result()
    assert status != 0, output
    for check in EVENT_HISTORY_CHECKS:
        assert results.get(check) in ("failed", "error"), f"{check}: {results}\n{output}"


def test_cleanup_check_fails_when_a_deleted_secret_frees_its_name(broken_workshop_runs):
    """The cleanup check is not vacuous: a Secrets Manager that lets a new secret take the name of one
    scheduled for deletion (moto without localaws.ext.secrets_deletion) fails it."""
    status, results, output = broken_workshop_runs[NAME_FREED_ON_DELETE].result()
    assert status != 0, output
    for check in CLEANUP_CHECKS:
        assert results.get(check) in ("failed", "error"), f"{check}: {results}\n{output}"


def test_teardown_fails_when_the_stack_leaves_something_behind(broken_workshop_runs):
    """The teardown is verified: a bucket the stack retains is found by the run's tag, and fails the run."""
    status, results, output = broken_workshop_runs[LEFT_BEHIND].result()
    assert status != 0, output
    assert "teardown left behind: arn:aws:s3:::" in output and "trailbucket" in output, output
    assert results == {"test_credentials_from_secret_read_bookinfo": "error"}, results  # passed, then the teardown


@pytest.mark.parametrize("fault", [pytest.param(DELETION_PROTECTED_FAULT, id=PROTECTED)])  # -k by its name
def test_teardown_fails_when_the_database_is_deletion_protected(fault: Fault, broken_workshop_runs):
    """A database with DeletionProtection cannot be deleted (RDS: "Cannot delete protected DB Instance"), so
    the stack's deletion ends DELETE_FAILED: the run is NOT READY and its verdict names the teardown and why."""
    status, results, output = broken_workshop_runs[PROTECTED].result()
    assert status != 0, output
    [verdict] = [line for line in output.splitlines() if "workshop verdict:" in line]
    assert "NOT READY: teardown left behind: stack " in verdict and " is DELETE_FAILED: " in verdict, output
    assert "DBInstance: Cannot delete protected DB Instance, please disable deletion protection" in verdict, output
    assert ":rds:" in verdict and ":db:" in verdict, output  # the database is still there
    assert results == {"test_credentials_from_secret_read_bookinfo": "error"}, results  # passed, then the teardown


@pytest.mark.parametrize("variant", VARIANTS)
def test_valid_variant_stays_ready(variant: Variant, broken_workshop_runs, request):
    """A workshop changed in a way AWS accepts passes the Template phase, deploys offline and passes every
    check it runs: the verdict is READY for the phases run."""
    status, results, output = broken_workshop_runs[request.node.callspec.id].result()
    assert status == 0 and results, f"the suite failed on a valid workshop where {variant.changes}:\n{output}"
    assert set(results.values()) == {"passed"}, results
    assert "workshop verdict: READY" in output, output


@pytest.mark.parametrize("phase", VALID_VARIANTS)
def test_workshop_whose_secret_key_every_reader_may_use_stays_ready(phase: str, broken_workshop_runs, request):
    """A workshop AWS accepts stays READY: smdemo encrypted with a customer managed KMS key (AWS::KMS::Key, its
    policy delegating to IAM) that the rotation function's, the bastion's, the task execution and task roles and
    lab C's read-only policy are allowed kms:Decrypt/GenerateDataKey on: every check of the phase passes (the
    phases selected run together, on one deployment, as in a full run)."""
    status, results, output = broken_workshop_runs[request.node.callspec.id].result()
    assert status == 0, output
    assert results and set(results.values()) == {"passed"}, f"{results}\n{output}"


def test_app_phase_passes_a_correct_app_that_answers_slowly(broken_workshop_runs):
    """No false alarm on a loaded machine: the get_secret variant, 1.5 s slower per request, passes the App
    phase (its check once judged a request asked before the first rotation but served during it)."""
    status, results, output = broken_workshop_runs[SLOW_APP.name].result()
    assert status == 0 and results and set(results.values()) == {"passed"}, f"{results}\n{output}"
