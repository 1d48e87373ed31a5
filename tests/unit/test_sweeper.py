"""The sweeper finds what earlier runs left, lists it (dry run) and deletes it with --delete:
live through boto3 (here against the local AWS's endpoint, as any AWS-compatible one), and
offline on this machine (a local AWS whose suite is gone, a stale database socket)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from botocore.exceptions import ClientError

from localaws.network.addresses import free_port
from tests.support.aws_helpers import unique

ROOT = Path(__file__).resolve().parents[2]
OLD_RUN = "20250101000000abcd"


def _tags(run_id: str) -> list[dict[str, str]]:
    return [{"Key": "Project", "Value": "smproj"}, {"Key": "smdemo:run-id", "Value": run_id}]


def sweep(local_aws, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = dict(os.environ, AWS_ENDPOINT_URL=local_aws.endpoint_url, AWS_DEFAULT_REGION=local_aws.region,
                       **local_aws.admin.as_environment(), **env)
    environment.pop("AWS_PROFILE", None)
    return subprocess.run([sys.executable, "-m", "suite.sweeper", *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture()
def leftovers(local_aws):
    """An old run's stack, secret and IAM user, and a fresh run's secret (which must stay)."""
    fresh_run = time.strftime("%Y%m%d%H%M%S", time.gmtime()) + "beef"
    sm, iam, cfn = (local_aws.client(name) for name in ("secretsmanager", "iam", "cloudformation"))
    old_secret = sm.create_secret(Name=unique("smdemo-old"), SecretString="{}", Tags=_tags(OLD_RUN))["ARN"]
    fresh_secret = sm.create_secret(Name=unique("smdemo-fresh"), SecretString="{}", Tags=_tags(fresh_run))["ARN"]
    user = unique("smdemo-reader")
    iam.create_user(UserName=user, Tags=_tags(OLD_RUN))
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))
    iam.create_access_key(UserName=user)
    stack = unique("smdemo-old")
    cfn.create_stack(StackName=stack, Tags=_tags(OLD_RUN), TemplateBody=json.dumps(
        {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"}}}))
    return {"old secret": old_secret, "fresh secret": fresh_secret, "user": user, "stack": stack}


def test_live_dry_run_lists_old_runs_only_and_deletes_nothing(local_aws, leftovers):
    done = sweep(local_aws, "--older-than", "1h")
    assert done.returncode == 0, done.stderr
    listed = done.stdout
    assert f"stack {leftovers['stack']}" in listed and leftovers["old secret"] in listed, listed
    assert f"IAM user {leftovers['user']}" in listed, listed
    assert leftovers["fresh secret"] not in listed, listed
    assert "Bucket" not in listed  # the stack's own bucket goes with the stack
    assert "dry run" in listed
    local_aws.client("secretsmanager").describe_secret(SecretId=leftovers["old secret"])  # still there
    local_aws.client("iam").get_user(UserName=leftovers["user"])


def test_live_delete_removes_old_runs_and_keeps_the_fresh_one(local_aws, leftovers):
    done = sweep(local_aws, "--older-than", "1h", "--delete")
    assert done.returncode == 0, done.stdout + done.stderr
    sm, iam, cfn = (local_aws.client(name) for name in ("secretsmanager", "iam", "cloudformation"))
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        sm.describe_secret(SecretId=leftovers["old secret"])
    with pytest.raises(ClientError, match="NoSuchEntity"):
        iam.get_user(UserName=leftovers["user"])
    assert not [s for s in cfn.describe_stacks()["Stacks"] if s["StackName"] == leftovers["stack"]]
    sm.describe_secret(SecretId=leftovers["fresh secret"])


def test_age_must_be_a_duration(local_aws):
    done = sweep(local_aws, "--older-than", "soon")
    assert done.returncode == 2 and "give an age like" in done.stderr


def test_offline_finds_a_local_aws_whose_suite_is_gone_and_a_stale_socket(local_aws, tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid is now a suite that is gone
    orphan = subprocess.Popen([sys.executable, "-m", "localaws.server_process", "--port", str(free_port()),
                               "--state-dir", str(tmp_path / "state"), "--owner-pid", str(gone.pid)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    stale = tmp_path / "localaws-mysqld-0123456789abcdef.sock"
    stale.write_text("")
    try:
        listed = sweep(local_aws, "--offline", TMPDIR=str(tmp_path))
        assert f"process {orphan.pid}: a local AWS whose suite is gone" in listed.stdout, listed.stdout
        assert str(stale) in listed.stdout and stale.exists()
        assert f"process {local_aws.process.pid}" not in listed.stdout  # this session's own local AWS is alive

        done = sweep(local_aws, "--offline", "--delete", TMPDIR=str(tmp_path))
        assert done.returncode == 0, done.stdout + done.stderr
        orphan.wait(timeout=20)
        assert not stale.exists()
        assert psutil.Process(local_aws.process.pid).is_running()
    finally:
        if orphan.poll() is None:
            orphan.send_signal(signal.SIGKILL)
            orphan.wait()


def test_offline_leaves_the_local_aws_of_another_tmpdir_alone(local_aws, tmp_path):
    """A sweep judges the runs of its own TMPDIR: a test session's self-test sweeping its folder must not stop
    the local AWS another test kept (--keep-stack) in /tmp meanwhile."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    elsewhere = subprocess.Popen([sys.executable, "-m", "localaws.server_process", "--port", str(free_port()),
                                  "--state-dir", str(tmp_path / "elsewhere" / "state"), "--owner-pid", str(gone.pid)],
                                 cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    (tmp_path / "here").mkdir()
    try:
        listed = sweep(local_aws, "--offline", TMPDIR=str(tmp_path / "here"))
        assert f"process {elsewhere.pid}" not in listed.stdout, listed.stdout
        assert elsewhere.poll() is None
    finally:
        elsewhere.send_signal(signal.SIGKILL)
        elsewhere.wait()
