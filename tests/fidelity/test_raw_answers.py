"""What the local AWS sends, read raw (botocore would hide it): no null members, log timestamps
in whole milliseconds, CreateTrail's own members only, an image's Platform only for Windows.

AWS: the JSON protocol leaves out members without a value; CloudWatch Logs API reference,
OutputLogEvent/FilteredLogEvent ("timestamp — ... expressed as the number of milliseconds",
type Long); CloudTrail API reference, CreateTrail Response Elements; EC2 API reference, Image
("platform — ... windows for Windows AMIs; otherwise, it is blank").
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from tests.support.aws_helpers import cloudtrail_bucket, unique
from tests.fidelity.validation import NOT_YET_VALIDATED


def raw(client, call, **kwargs) -> bytes:
    """The body the server sent for one call."""
    seen = []
    client.meta.events.register("after-call.*.*", lambda http_response, **_: seen.append(http_response.content))
    getattr(client, call)(**kwargs)
    return seen[-1]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_log_answers_have_no_nulls_and_whole_millisecond_timestamps(aws):
    logs = aws.client("logs")
    group = f"/fid/{unique('raw')}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": 1700000000123, "message": "m"}])
    described = json.loads(raw(logs, "describe_log_groups", logGroupNamePrefix=group))
    assert "nextToken" not in described
    filtered = json.loads(raw(logs, "filter_log_events", logGroupName=group))
    assert "nextToken" not in filtered
    assert all(isinstance(event["timestamp"], int) for event in filtered["events"])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_create_trail_answers_only_its_own_members(aws):
    bucket = cloudtrail_bucket(aws, "fid-raw-trail")
    answer = json.loads(raw(aws.client("cloudtrail"), "create_trail", Name=unique("trail"), S3BucketName=bucket))
    assert {"Name", "S3BucketName", "TrailARN"} <= set(answer)
    assert not {"HasCustomEventSelectors", "HasInsightSelectors", "HomeRegion"} & set(answer)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_an_images_platform_is_windows_or_absent(aws):
    body = raw(aws.client("ec2"), "describe_images", Owners=["amazon"])
    platforms = {element.text for element in ET.fromstring(body).iter() if element.tag.endswith("}platform")}
    assert platforms <= {"windows"}, platforms
