"""suite.rotations.rotate and Workshop.wait_for_current: a rotation that did not happen carries its reason.

A refused RotateSecret (a previous rotation left unfinished) is the rotation's error in AWS's words, not an
exception escaping a session fixture; a rotation that does not finish names the error its function logged.
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from suite.rotations import rotate
from suite.workshop import RotationDidNotFinish, Workshop

UNFINISHED = "A previous rotation isn't complete. That rotation will be reattempted."


class RefusingWorkshop:
    def labels(self) -> dict[str, list[str]]:
        return {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}

    def start_rotation(self) -> str:
        raise ClientError({"Error": {"Code": "InvalidRequestException", "Message": UNFINISHED}}, "RotateSecret")


def test_a_refused_rotation_is_an_error_in_aws_words():
    rotation = rotate(RefusingWorkshop())  # type: ignore[arg-type]
    assert rotation.error == f"RotateSecret was refused: InvalidRequestException: {UNFINISHED}"
    assert rotation.token == "" and rotation.after == rotation.before


@mock_aws
def test_an_unfinished_rotation_names_the_error_its_function_logged():
    region = "us-east-1"
    sm, logs = boto3.client("secretsmanager", region_name=region), boto3.client("logs", region_name=region)
    arn = sm.create_secret(Name="smdemo", SecretString="{}")["ARN"]
    group = "/aws/lambda/smdemo-rotation"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    started = time.time()
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[
        {"timestamp": int(started * 1000) + 5, "message": "[ERROR] setSecret: unable to log into database"}])
    timing = SimpleNamespace(rotation_poll=0.05, rotation_settle=0.1, poll_interval=0.05)
    aws = SimpleNamespace(timing=timing,
                          client=lambda service, credentials=None: boto3.client(service, region_name=region))
    stack = SimpleNamespace(outputs={"SecretArn": arn, "RotationFunctionName": "smdemo-rotation"})
    workshop = Workshop(aws, stack, hardcoded=None, rotation_timeout=0.3)  # type: ignore[arg-type]

    with pytest.raises(RotationDidNotFinish) as unfinished:
        workshop.wait_for_current("0123456789abcdef", since=started - 1)

    assert "did not finish within 0s" in str(unfinished.value)
    assert str(unfinished.value).endswith(
        "the rotation function logged: [ERROR] setSecret: unable to log into database")


def workshop_seeing(*answers: dict[str, list[str]]) -> tuple[Workshop, list[dict[str, list[str]]]]:
    """A workshop whose DescribeSecret answers these labels in turn (the last one again), and the answers read."""
    timing = SimpleNamespace(rotation_poll=0.01, rotation_settle=1, poll_interval=0.01)
    workshop = Workshop(SimpleNamespace(timing=timing), SimpleNamespace(outputs={}), hardcoded=None,  # type: ignore[arg-type]
                        rotation_timeout=1)
    read: list[dict[str, list[str]]] = []

    def labels() -> dict[str, list[str]]:
        read.append(answers[min(len(read), len(answers) - 1)])
        return read[-1]

    workshop.labels = labels  # type: ignore[method-assign]
    return workshop, read


def test_a_finished_rotation_is_not_asked_about_again():
    """The answer that shows AWSCURRENT on the new version without AWSPENDING is the rotation's end: no further
    DescribeSecret (one per rotation, twenty rotations a run)."""
    workshop, read = workshop_seeing({"old": ["AWSCURRENT"], "new": ["AWSPENDING"]},
                                     {"old": ["AWSPREVIOUS"], "new": ["AWSCURRENT"]})
    assert workshop.wait_for_current("new") == {"old": ["AWSPREVIOUS"], "new": ["AWSCURRENT"]}
    assert len(read) == 2


def test_awspending_still_on_the_new_current_version_is_awaited():
    """AWSCURRENT moves inside finishSecret; AWSPENDING leaves once it has returned: awaited, then answered."""
    workshop, read = workshop_seeing({"new": ["AWSCURRENT", "AWSPENDING"]}, {"new": ["AWSCURRENT", "AWSPENDING"]},
                                     {"new": ["AWSCURRENT"]})
    assert workshop.wait_for_current("new") == {"new": ["AWSCURRENT"]}
    assert len(read) == 3
