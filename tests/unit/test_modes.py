"""Live never runs by accident, and says why when it cannot run."""
from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from tests.support.forked_pytest import run_pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_run(*args: str, **env: str) -> subprocess.CompletedProcess:
    """A run of the suite; its timeout only a safety net, as the self-tests' (a Fargate phase took over 2 minutes
    while the other pytest-xdist worker and other sessions loaded the machine)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean.update(AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent", **env)
    return run_pytest(["-p", "no:cacheprovider", *args], cwd=ROOT, env=clean, timeout=600)


def live_against(local_aws, tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`pytest -m live ARGS` on the live code path, aimed with AWS_ENDPOINT_URL at the local AWS."""
    return pytest_run("-m", "live", *args, f"--basetemp={tmp_path / 'run'}", "--aws-region", local_aws.region,
                      AWS_ENDPOINT_URL=local_aws.endpoint_url, SMDEMO_ADMIN_CIDR="127.0.0.1/32",
                      **local_aws.admin.as_environment(), **env)


def checks_in(path: str) -> int:
    return sum(line.startswith("def test_") for line in (ROOT / path).read_text().splitlines())


def test_plain_pytest_selects_no_live_check():
    collected = pytest_run("--collect-only", "-q", "tests/rds").stdout
    assert "[offline]" in collected
    assert "[live]" not in collected


def test_live_without_credentials_stops_with_the_reason():
    """Asked for, live without credentials is an environment problem: exit 4, nothing created."""
    run = pytest_run("-m", "live", "tests/rds")
    assert run.returncode == 4, run.stdout[-2000:]
    assert "NOT RUN: environment: live: no AWS credentials configured" in run.stdout
    assert "nothing was created" in run.stdout
    assert " passed" not in run.stdout


def test_live_without_network_says_aws_does_not_answer():
    run = pytest_run("-m", "live", "tests/rds", "--aws-region", "eu-west-1", AWS_ACCESS_KEY_ID="AKIAEXAMPLE",
                     AWS_SECRET_ACCESS_KEY="example", AWS_ENDPOINT_URL="http://127.0.0.1:9")
    assert run.returncode == 4, run.stdout[-2000:]
    assert "live: AWS does not answer from here" in run.stdout
    assert "credentials do not work" not in run.stdout


def test_live_with_a_wrong_region_says_so():
    run = pytest_run("-m", "live", "tests/rds", "--aws-region", "mars-north-1",
                     AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="example")
    assert run.returncode == 4
    assert "region 'mars-north-1' is not an AWS region" in run.stdout
    assert "Traceback" not in run.stdout


@pytest.fixture(scope="module")
def live_run_of_the_deployed_phases(local_aws, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """`pytest -m live` of the RDS, TLS user, Fargate and App phases (one deployment), aimed with AWS_ENDPOINT_URL at
    the local AWS; TLS verified against the CA bundle SMDEMO_RDS_CA_BUNDLE names (here the local AWS's; live, AWS's
    global bundle); no docker on the PATH. (run, its JUnit file)"""
    tmp_path = tmp_path_factory.mktemp("live")
    junit = tmp_path / "live.xml"
    run = live_against(local_aws, tmp_path, "tests/rds", "tests/tls_user", "tests/fargate", "tests/app",
                       f"--junitxml={junit}", SMDEMO_RDS_CA_BUNDLE=str(local_aws.rds_ca_bundle),
                       PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    return run, junit


def passed_in(junit: Path, path: str) -> tuple[int, int]:
    """(passed, not passed) checks of one phase's file in a run's JUnit file."""
    module = path.removesuffix(".py").replace("/", ".")
    cases = [case for case in ET.parse(junit).getroot().iter("testcase") if case.get("classname") == module]
    passed = sum(1 for case in cases if not list(case))
    return passed, len(cases) - passed


def test_live_against_an_aws_compatible_endpoint_runs_and_says_so(local_aws, live_run_of_the_deployed_phases):
    """The live code path, pointed with AWS_ENDPOINT_URL at the local AWS: the RDS phase passes, and
    the verdict and the environment table name the endpoint (it is not AWS)."""
    run, junit = live_run_of_the_deployed_phases
    assert run.returncode == 0, run.stdout[-3000:]
    assert "passed: RDS (live), Fargate (live), TLS user (live), App (live); not run: Template, Audit; live ran " \
           f"against {local_aws.endpoint_url} " \
           f"(not AWS: an AWS-compatible endpoint (AWS_ENDPOINT_URL))" in run.stdout, run.stdout[-2000:]
    assert passed_in(junit, "tests/rds/test_rds_phase.py") == (checks_in("tests/rds/test_rds_phase.py"), 0)


def test_live_tls_user_phase_against_an_aws_compatible_endpoint(live_run_of_the_deployed_phases):
    """Lab C on the live code path, its TLS verified against the CA bundle SMDEMO_RDS_CA_BUNDLE names."""
    run, junit = live_run_of_the_deployed_phases
    checks = checks_in("tests/tls_user/test_tls_user_phase.py")
    assert passed_in(junit, "tests/tls_user/test_tls_user_phase.py") == (checks, 0), run.stdout[-3000:]
    assert "TLS user (live)" in run.stdout.split("passed: ", 1)[-1].split(";")[0], run.stdout[-2000:]


def test_live_fargate_phase_against_an_aws_compatible_endpoint_needs_no_docker_engine(live_run_of_the_deployed_phases):
    """The Fargate phase on the live code path: the image is built and pushed on the bastion by the
    workshop's scripts (through Run Command), so nothing is skipped on a machine without Docker."""
    run, junit = live_run_of_the_deployed_phases
    checks = checks_in("tests/fargate/test_fargate_phase.py")
    assert passed_in(junit, "tests/fargate/test_fargate_phase.py") == (checks, 0), run.stdout[-3000:]
    assert "Fargate (live)" in run.stdout.split("passed: ", 1)[-1].split(";")[0], run.stdout[-2000:]


def test_live_app_phase_against_an_aws_compatible_endpoint(live_run_of_the_deployed_phases):
    """Lab B on the live code path: the web app on the bastion through two rotations and a secret
    changed without the database."""
    run, junit = live_run_of_the_deployed_phases
    assert passed_in(junit, "tests/app/test_app_phase.py") == (5, 0), run.stdout[-3000:]
    assert "App (live)" in run.stdout.split("passed: ", 1)[-1].split(";")[0], run.stdout[-2000:]


def test_live_stack_without_credentials_stops_with_the_reason():
    """--stack live is as safe: no credentials, one reason, exit 4, nothing read or changed."""
    run = pytest_run("-m", "live", "tests/rds", "--stack", "smdemo-class")
    assert run.returncode == 4, run.stdout[-2000:]
    assert "NOT RUN: environment: live: no AWS credentials configured" in run.stdout
    assert " passed" not in run.stdout


def test_live_stack_that_is_not_there_stops_with_the_reason(local_aws, tmp_path):
    """--stack never creates a stack: one that is not in the account and region is named, exit 4."""
    run = live_against(local_aws, tmp_path, "tests/audit", "--stack", "no-such-stack")
    assert run.returncode == 4, run.stdout[-2000:]
    assert "NOT RUN: environment: live: stack 'no-such-stack' is not in us-east-1" in run.stdout, run.stdout[-2000:]
    assert "nothing was changed" in run.stdout
    assert not [stack for stack in local_aws.client("cloudformation").describe_stacks()["Stacks"]
                if stack["StackName"] == "no-such-stack"]


# --- the fidelity tests (tests/fidelity/validation.py): live only when asked, and only those that can meet AWS

def test_a_plain_run_is_offline_and_a_live_run_selects_only_what_can_meet_aws():
    offline = pytest_run("--collect-only", "-q", "tests/fidelity/test_ecr_blobs.py").stdout
    assert "[offline]" in offline and "[live]" not in offline
    live = pytest_run("--collect-only", "-q", "-m", "live", "tests/fidelity/test_ecr_blobs.py").stdout
    assert "test_download_url_serves_a_layer_the_repository_holds[live]" in live, live
    assert "test_completed_upload_is_stored_under_its_sha256_digest" not in live  # it reads the local AWS's files


def test_live_without_credentials_stops_before_anything(tmp_path):
    run = pytest_run("-m", "live", "tests/fidelity/test_secrets_answers.py", f"--basetemp={tmp_path}")
    assert run.returncode == 4, run.stdout[-2000:]
    assert "live: no AWS credentials configured" in run.stdout and " passed" not in run.stdout


def test_the_live_code_path_runs_against_an_aws_compatible_endpoint(local_aws, tmp_path):
    """`-m live` aimed with AWS_ENDPOINT_URL at the local AWS: the account id comes from STS, the
    caller's principal from its ARN, the stored snapshots compare."""
    run = live_against(local_aws, tmp_path, "tests/fidelity/test_secrets_answers.py",
                       "tests/fidelity/test_iam_resources.py", "-p", "no:randomly")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "6 passed" in run.stdout, run.stdout[-2000:]
    listing = tmp_path / "run" / "fidelity-live-created.json"
    assert f"calls made something in the account (it may bill until deleted): {listing}" in run.stdout
    first = json.loads(listing.read_text())[0]
    assert (first["service"], first["operation"]) == ("secretsmanager", "CreateSecret") and first["ARN"], first


def test_snapshot_update_is_refused_offline(tmp_path):
    run = pytest_run("tests/fidelity/test_secrets_answers.py", "--snapshot-update", f"--basetemp={tmp_path}",
                     "-k", "describe_secret")
    assert run.returncode == 1 and "--snapshot-update records AWS's answers: run it with -m live" in run.stdout


CASES = {
    "neither": ("def test_it(): pass", "found neither"),
    "both": ('@pytest.mark.aws_validated("2026-01-02")\n@pytest.mark.local_only("not yet validated against AWS")\n'
             "def test_it(): pass", "aws_validated('2026-01-02')"),
    "no_date": ('@pytest.mark.aws_validated("last week")\ndef test_it(): pass', "as YYYY-MM-DD"),
    "internals": ('@pytest.mark.local_only("not yet validated against AWS")\ndef test_it(local_aws): pass',
                  "can never meet AWS"),
}


def test_a_test_without_exactly_one_validation_marker_is_a_collection_error(tmp_path: Path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    aws_validated(date): -\n    local_only(why): -\n")
    (tmp_path / "conftest.py").write_text(
        "import pytest\nfrom tests.fidelity.validation import check_markers\n\n"
        "@pytest.fixture\ndef local_aws(): pass\n\n"
        "def pytest_generate_tests(metafunc):\n    check_markers(metafunc.definition, metafunc.fixturenames)\n")
    for name, (source, _) in CASES.items():
        (tmp_path / f"test_{name}.py").write_text(f"import pytest\n\n\n{source}\n")
    (tmp_path / "test_fine.py").write_text(
        'import pytest\n\n\n@pytest.mark.local_only("reaches into the local AWS")\ndef test_it(local_aws): pass\n')
    run = pytest_run("-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), str(tmp_path),
                     PYTHONPATH=str(ROOT))
    assert run.returncode == 2, run.stdout[-3000:]
    for name, (_, problem) in CASES.items():
        assert f"ERROR collecting test_{name}.py" in run.stdout and problem in run.stdout, (name, run.stdout[-3000:])
    assert "test_fine.py" not in run.stdout and "4 errors" in run.stdout
