"""suite.cloudtrail against the local AWS: the query the checks use in both modes."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from suite.cloudtrail import (MIN_REQUEST_INTERVAL, EventsNotFound, TrailEvent, about_secret, await_events,
                              lookup, whole_seconds)
from tests.support.aws_helpers import unique
from tests.support.aws_helpers import iam_user as _user
from tests.support.any_aws import offline_aws


@pytest.fixture
def secret(local_aws):
    """A new secret per test: events are counted per secret, windows have whole seconds."""
    name = unique("suite-ct")
    return {"name": name, "arn": local_aws.client("secretsmanager").create_secret(Name=name, SecretString="x")["ARN"]}


def test_lookup_parses_who_asked_for_which_secret_and_the_outcome(local_aws, secret):
    """An allowed and a denied GetSecretValue, made at a fractional second: both inside a window that
    starts then (lookup widens it to whole seconds), each with its principal, key, secret and error."""
    start = time.time()
    reader_arn, reader = _user(offline_aws(local_aws), {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                           "Resource": secret["arn"]})
    stranger_arn, stranger = _user(offline_aws(local_aws), {"Effect": "Allow", "Action": "sts:GetCallerIdentity",
                                               "Resource": "*"})
    local_aws.client("secretsmanager", reader).get_secret_value(SecretId=secret["arn"])
    with pytest.raises(ClientError):
        local_aws.client("secretsmanager", stranger).get_secret_value(SecretId=secret["name"])

    events = [event for event in lookup(local_aws.client("cloudtrail"), start, EventName="GetSecretValue")
              if about_secret(secret["arn"])(event)]
    by_principal = {event.principal_arn: event for event in events}
    allowed, denied = by_principal[reader_arn], by_principal[stranger_arn]
    assert (allowed.access_key_id, allowed.secret, allowed.error_code) == (reader.access_key_id, secret["arn"], None)
    assert (denied.access_key_id, denied.secret, denied.error_code) == (stranger.access_key_id, secret["name"],
                                                                         "AccessDenied")
    assert allowed.principal_type == "IAMUser" and allowed.event_name == "GetSecretValue"
    assert allowed.raw["eventSource"] == "secretsmanager.amazonaws.com"
    assert isinstance(allowed.time, datetime) and allowed.time.timestamp() >= int(start)


def test_one_lookup_attribute_at_most():
    with pytest.raises(ValueError):
        lookup(None, 0, EventName="GetSecretValue", Username="someone")


def test_whole_seconds_widens_the_window():
    start, end = whole_seconds(100.7, 200.2)
    assert (start.timestamp(), end.timestamp()) == (100, 201) and start.tzinfo == timezone.utc


@pytest.mark.parametrize("asked", ["{arn}", "{name}", "{partial}"])
def test_about_secret_accepts_every_spelling_of_a_secret_id(asked):
    """SecretId: "the ARN or name of the secret"; a partial ARN (without the random suffix) works too."""
    name, arn = "app/db", "arn:aws:secretsmanager:eu-west-1:111122223333:secret:app/db-AbC123"
    event = TrailEvent(time=datetime.now(timezone.utc), event_name="GetSecretValue", principal_arn="p",
                       principal_type="IAMUser", username="u", access_key_id="k",
                       secret=asked.format(arn=arn, name=name, partial=arn[:-7]), error_code=None, raw={})
    assert about_secret(arn)(event) and about_secret(name)(event)
    assert not about_secret("app/db2")(event) and not about_secret(arn.replace("app/db", "app/other"))(event)


def test_await_events_returns_once_the_condition_holds(local_aws, secret):
    start = time.time()
    sm = local_aws.client("secretsmanager")
    sm.describe_secret(SecretId=secret["arn"])
    sm.describe_secret(SecretId=secret["name"])
    events = await_events(local_aws.client("cloudtrail"), start=start, attribute={"EventName": "DescribeSecret"},
                          matches=about_secret(secret["arn"]), until=lambda found: len(found) >= 2,
                          timeout=5, interval=0.2)
    assert [event.secret for event in events] == [secret["name"], secret["arn"]]  # newest first


def test_await_events_gives_up_after_the_bound_and_says_what_it_saw(local_aws, secret):
    start = time.time()
    local_aws.client("secretsmanager").describe_secret(SecretId=secret["arn"])
    began = time.monotonic()
    with pytest.raises(EventsNotFound) as missing:
        await_events(local_aws.client("cloudtrail"), start=start, attribute={"EventName": "DescribeSecret"},
                     matches=about_secret(secret["arn"]), until=lambda found: len(found) >= 3,
                     timeout=1.5, interval=0.5)
    assert 1.5 <= time.monotonic() - began < 10
    assert "DescribeSecret by arn:aws:iam::" in str(missing.value)


def test_lookup_requests_are_throttled_to_two_a_second(local_aws):
    """LookupEvents: "The rate of lookup requests is limited to two per second, per account, per Region"."""
    cloudtrail = local_aws.client("cloudtrail")
    began = time.monotonic()
    for _ in range(4):
        lookup(cloudtrail, time.time() - 1, EventName=unique("NoSuchEvent"))
    assert time.monotonic() - began >= 3 * MIN_REQUEST_INTERVAL
