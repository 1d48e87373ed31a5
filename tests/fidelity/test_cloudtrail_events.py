"""localaws.ext.cloudtrail_events: every call is a CloudTrail event, looked up and delivered as in AWS."""
from __future__ import annotations

import gzip
import json
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from suite.credentials import Credentials
from tests.support.aws_helpers import cloudtrail_bucket, unique
from tests.support.aws_helpers import iam_user as _user
from tests.support.aws_helpers import policy_document as _policy
from tests.fidelity.validation import NOT_YET_VALIDATED


def _log_key(account: str) -> re.Pattern[str]:
    """How CloudTrail names a log file it delivers for the account."""
    return re.compile(rf"AWSLogs/{account}/CloudTrail/(?P<region>[a-z0-9-]+)/\d{{4}}/\d{{2}}/\d{{2}}/"
                      rf"{account}_CloudTrail_(?P=region)_\d{{8}}T\d{{4}}Z_[0-9a-zA-Z]+\.json\.gz")


def _window() -> dict[str, datetime]:
    now = datetime.now(timezone.utc)
    return {"StartTime": now - timedelta(minutes=5), "EndTime": now + timedelta(minutes=1)}


def _lookup(aws, key: str, value: str, **kwargs) -> list[dict]:
    """Every event matching one attribute, over all pages, as LookupEvents returns them."""
    pages = aws.client("cloudtrail").get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **{**_window(), **kwargs})
    return [event for page in pages for event in page["Events"]]


def _record(event: dict) -> dict:
    return json.loads(event["CloudTrailEvent"])


@pytest.fixture(scope="module")
def secret(aws):
    """A secret with a value to look for."""
    name = unique("ct-secret")
    value = f"ct-value-{unique('v')}"
    arn = aws.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    return {"name": name, "arn": arn, "value": value}


@pytest.fixture
def reader(aws, secret):
    """A new IAM user allowed to read and describe the secret: its events are this test's only."""
    arn, credentials = _user(aws, {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": secret["arn"]})
    return {"arn": arn, "name": arn.split("/")[-1], "credentials": credentials,
            "secretsmanager": aws.client("secretsmanager", credentials)}


@pytest.fixture
def trail(aws):
    """A logging trail with its own bucket; stopped and deleted afterwards."""
    name, bucket = unique("ct-trail"), cloudtrail_bucket(aws, "ct-logs")
    cloudtrail = aws.client("cloudtrail")
    cloudtrail.create_trail(Name=name, S3BucketName=bucket)
    cloudtrail.start_logging(Name=name)
    yield {"name": name, "bucket": bucket}
    cloudtrail.stop_logging(Name=name)
    cloudtrail.delete_trail(Name=name)


def _delivered(aws, bucket: str) -> list[dict]:
    """Every record in the bucket's log files (each key checked against CloudTrail's naming)."""
    s3 = aws.client("s3")
    records = []
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        assert _log_key(aws.account_id).fullmatch(item["Key"]), item["Key"]
        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        records.extend(json.loads(gzip.decompress(body))["Records"])
    return records


def _raw_log_text(aws, bucket: str) -> str:
    s3 = aws.client("s3")
    return "".join(gzip.decompress(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()).decode()
                   for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_allowed_and_denied_get_secret_value_are_recorded_with_the_caller(aws, secret, reader):
    """Event history records each API call, allowed or denied, with userIdentity (IAMUser: the user's
    arn and userName), Username, AccessKeyId, ReadOnly "true" for GetSecretValue, requestParameters
    secretId, responseElements null; a denied call carries errorCode "AccessDenied" (as CloudTrail
    writes Secrets Manager's AccessDeniedException) and errorMessage "... is not authorized ..."."""
    stranger_arn, stranger = _user(aws, {"Effect": "Allow", "Action": "sts:GetCallerIdentity",
                                               "Resource": "*"})
    reader["secretsmanager"].get_secret_value(SecretId=secret["arn"])
    with pytest.raises(ClientError):
        aws.client("secretsmanager", stranger).get_secret_value(SecretId=secret["arn"])

    events = [event for event in _lookup(aws, "EventName", "GetSecretValue")
              if _record(event)["requestParameters"] == {"secretId": secret["arn"]}]
    by_user = {_record(event)["userIdentity"]["arn"]: event for event in events}
    allowed, denied = by_user[reader["arn"]], by_user[stranger_arn]
    for event, credentials in ((allowed, reader["credentials"]), (denied, stranger)):
        record = _record(event)
        assert event["AccessKeyId"] == credentials.access_key_id == record["userIdentity"]["accessKeyId"]
        assert event["Username"] == record["userIdentity"]["userName"]
        assert record["userIdentity"]["type"] == "IAMUser"
        assert event["EventSource"] == record["eventSource"] == "secretsmanager.amazonaws.com"
        assert event["ReadOnly"] == "true" and record["readOnly"] is True
        assert record["responseElements"] is None
        assert record["recipientAccountId"] == record["userIdentity"]["accountId"] == aws.account_id
        assert record["eventType"] == "AwsApiCall" and record["eventID"] == event["EventId"]
        assert event["Resources"] == [{"ResourceType": "AWS::SecretsManager::Secret",
                                       "ResourceName": secret["arn"]}]
    assert "errorCode" not in _record(allowed)
    assert _record(denied)["errorCode"] == "AccessDenied"
    assert f"{stranger_arn} is not authorized to perform: secretsmanager:GetSecretValue" in \
        _record(denied)["errorMessage"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_assumed_role_calls_name_the_session(aws, secret):
    """For temporary credentials from AssumeRole, userIdentity is type AssumedRole with arn
    arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, principalId ROLEID:SESSION and
    sessionContext.sessionIssuer the role (type Role, arn, userName); Event.Username is the session
    name and AccessKeyId the temporary key. AssumeRole's own event keeps the temporary access key id
    but not its secret (here, unlike AWS, the session token is left out too)."""
    iam = aws.client("iam")
    user_arn, user = _user(aws, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    role_name, session = unique("ct-role"), unique("ct-session")
    trust = _policy({"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName=role_name, PolicyName="read", PolicyDocument=_policy(
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret["arn"]}))
    issued = aws.client("sts", user).assume_role(RoleArn=role["Arn"], RoleSessionName=session)["Credentials"]
    temporary = Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])
    aws.client("secretsmanager", temporary).get_secret_value(SecretId=secret["arn"])

    [event] = _lookup(aws, "Username", session)
    identity = _record(event)["userIdentity"]
    assert event["EventName"] == "GetSecretValue" and event["AccessKeyId"] == issued["AccessKeyId"]
    assert identity["type"] == "AssumedRole"
    assert identity["arn"] == f"arn:aws:sts::{aws.account_id}:assumed-role/{role_name}/{session}"
    assert identity["principalId"] == f"{role['RoleId']}:{session}"
    assert identity["sessionContext"]["sessionIssuer"] == {
        "type": "Role", "principalId": role["RoleId"], "arn": role["Arn"], "accountId": aws.account_id,
        "userName": role_name}

    [assume] = [event for event in _lookup(aws, "EventName", "AssumeRole")
                if _record(event)["requestParameters"].get("roleSessionName") == session]
    assert _record(assume)["responseElements"]["credentials"]["accessKeyId"] == issued["AccessKeyId"]
    assert issued["SecretAccessKey"] not in assume["CloudTrailEvent"]
    assert issued["SessionToken"] not in assume["CloudTrailEvent"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_no_secret_value_or_password_in_any_event_or_log_file(aws, secret, trail):
    """CloudTrail never records a secret's value: GetSecretValue's responseElements is null and the
    SecretString of CreateSecret/PutSecretValue/UpdateSecret is left out; GetRandomPassword's answer is
    not recorded; passwords (RDS MasterUserPassword, IAM login profiles) are written "****"; a new
    access key's secret is left out; CreateStack: "Only the input parameter key names are logged; no
    parameter values are logged" (nor, here, the template body). Not in Event history, not in the
    trail's log files."""
    sm = aws.client("secretsmanager")
    leaked = [secret["value"], f"put-{unique('v')}", f"update-{unique('v')}", f"master-{unique('pw')}",
              f"Login-{unique('pw')}!", f"param-{unique('pw')}", f"literal-{unique('pw')}"]
    template = {"Parameters": {"DbPassword": {"Type": "String", "NoEcho": True}}, "Resources": {"Handle": {
        "Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": {"password": leaked[6]}}}}
    stack = unique("ct-stack")
    cloudformation = aws.client("cloudformation")
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(template),
                                Parameters=[{"ParameterKey": "DbPassword", "ParameterValue": leaked[5]}])
    cloudformation.delete_stack(StackName=stack)
    sm.put_secret_value(SecretId=secret["arn"], SecretString=leaked[1])
    sm.update_secret(SecretId=secret["arn"], SecretString=leaked[2])
    assert sm.get_secret_value(SecretId=secret["arn"])["SecretString"] == leaked[2]
    leaked.append(sm.get_random_password(PasswordLength=40)["RandomPassword"])
    with pytest.raises(ClientError):  # recorded although it fails: the password must not be
        aws.client("rds").modify_db_instance(DBInstanceIdentifier=unique("nodb"), MasterUserPassword=leaked[3])
    user = unique("ct-login")
    iam = aws.client("iam")
    iam.create_user(UserName=user)
    iam.create_login_profile(UserName=user, Password=leaked[4])
    leaked.append(iam.create_access_key(UserName=user)["AccessKey"]["SecretAccessKey"])

    pages = aws.client("cloudtrail").get_paginator("lookup_events").paginate(**_window())
    history = json.dumps([page["Events"] for page in pages], default=str)
    logs = _raw_log_text(aws, trail["bucket"])
    for text in (history, logs):
        assert secret["arn"] in text  # the calls are there ...
        assert not [value for value in leaked if value in text]  # ... the values are not
    modify = [record for record in _delivered(aws, trail["bucket"])
              if record["eventName"] == "ModifyDBInstance"]
    assert modify and all(record["requestParameters"]["masterUserPassword"] == "****" for record in modify)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_each_lookup_attribute_selects_its_events(aws, secret, reader):
    """LookupEvents LookupAttributes: EventId, EventName, ReadOnly, Username, ResourceType,
    ResourceName, EventSource, AccessKeyId; only events whose attribute equals AttributeValue."""
    reader["secretsmanager"].get_secret_value(SecretId=secret["arn"])
    [mine] = _lookup(aws, "Username", reader["name"])
    cases = {"EventId": mine["EventId"], "EventName": "GetSecretValue", "ReadOnly": "true",
             "Username": reader["name"], "ResourceType": "AWS::SecretsManager::Secret",
             "ResourceName": secret["arn"], "EventSource": "secretsmanager.amazonaws.com",
             "AccessKeyId": reader["credentials"].access_key_id}
    for key, value in cases.items():
        events = _lookup(aws, key, value)
        assert mine["EventId"] in [event["EventId"] for event in events], key
        for event in events:
            seen = [resource[key] for resource in event["Resources"]] if key.startswith("Resource") else [event[key]]
            assert value in seen, key
    assert mine["EventId"] not in [event["EventId"] for event in _lookup(aws, "ReadOnly", "false")]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_start_and_end_time_bound_the_events(aws, secret, reader):
    """StartTime: "only events that occur after or at the specified time"; EndTime: "before or at";
    event times have one-second resolution; StartTime after EndTime is InvalidTimeRangeException."""
    cloudtrail = aws.client("cloudtrail")
    reader["secretsmanager"].describe_secret(SecretId=secret["arn"])
    time.sleep(1.1)
    boundary = datetime.fromtimestamp(int(time.time()), timezone.utc)  # a whole second after the first call
    time.sleep(1.1)
    reader["secretsmanager"].list_secret_version_ids(SecretId=secret["arn"])

    def names(**window: datetime) -> list[str]:
        attribute = [{"AttributeKey": "Username", "AttributeValue": reader["name"]}]
        return [event["EventName"] for event in cloudtrail.lookup_events(LookupAttributes=attribute,
                                                                         **window)["Events"]]

    assert names(StartTime=boundary) == ["ListSecretVersionIds"]
    assert names(EndTime=boundary) == ["DescribeSecret"]
    with pytest.raises(ClientError) as wrong:
        cloudtrail.lookup_events(StartTime=boundary, EndTime=boundary - timedelta(seconds=1))
    assert wrong.value.response["Error"]["Code"] == "InvalidTimeRangeException"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_pages_newest_first_with_next_token(aws, secret, reader):
    """Events come newest first; MaxResults (at most 50) per page and NextToken for the next page;
    a token used with other parameters is InvalidNextTokenException; more than one lookup attribute
    is InvalidLookupAttributesException; MaxResults above 50 is InvalidMaxResultsException."""
    sm = reader["secretsmanager"]
    calls = {"DescribeSecret": sm.describe_secret, "GetSecretValue": sm.get_secret_value,
             "ListSecretVersionIds": sm.list_secret_version_ids, "GetResourcePolicy": sm.get_resource_policy}
    made = [*calls, *calls]
    for name in made:
        calls[name](SecretId=secret["arn"])
    cloudtrail = aws.client("cloudtrail")
    attribute = [{"AttributeKey": "AccessKeyId", "AttributeValue": reader["credentials"].access_key_id}]
    pages, token = [], None
    while True:
        page = cloudtrail.lookup_events(LookupAttributes=attribute, MaxResults=3,
                                        **({"NextToken": token} if token else {}))
        pages.append(page["Events"])
        token = page.get("NextToken")
        if not token:
            break
    assert [len(page) for page in pages] == [3, 3, 2]
    events = [event for page in pages for event in page]
    assert [event["EventName"] for event in events] == made[::-1]
    times = [event["EventTime"] for event in events]
    assert times == sorted(times, reverse=True)

    first = cloudtrail.lookup_events(LookupAttributes=attribute, MaxResults=3)
    errors = {
        "InvalidNextTokenException": dict(MaxResults=3, NextToken=first["NextToken"]),
        "InvalidLookupAttributesException": dict(LookupAttributes=attribute * 2),
        "InvalidMaxResultsException": dict(MaxResults=51),
    }
    for code, params in errors.items():
        with pytest.raises(ClientError) as wrong:
            cloudtrail.lookup_events(**params)
        assert wrong.value.response["Error"]["Code"] == code


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_logging_trail_delivers_and_a_stopped_one_does_not(aws, secret, reader, trail):
    """While a trail is logging (StartLogging), CloudTrail delivers its region's events to the bucket
    as gzipped {"Records": [...]} files under AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/; after
    StopLogging calls are no longer delivered, and they remain in Event history."""
    cloudtrail = aws.client("cloudtrail")
    reader["secretsmanager"].describe_secret(SecretId=secret["arn"])
    [logged] = _lookup(aws, "Username", reader["name"])
    delivered = {record["eventID"]: record for record in _delivered(aws, trail["bucket"])}
    assert delivered[logged["EventId"]] == _record(logged)

    cloudtrail.stop_logging(Name=trail["name"])
    assert cloudtrail.get_trail_status(Name=trail["name"])["IsLogging"] is False
    reader["secretsmanager"].list_secret_version_ids(SecretId=secret["arn"])
    [unlogged, _] = _lookup(aws, "Username", reader["name"])
    assert unlogged["EventName"] == "ListSecretVersionIds"
    assert unlogged["EventId"] not in {record["eventID"] for record in _delivered(aws, trail["bucket"])}


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_describe_trails_returns_only_the_named_trails(aws, trail):
    """DescribeTrails trailNameList: "Specifies a list of trail names, trail ARNs, or both, of the
    trails to describe"; names that match no trail are left out (moto 5.2.5 returns every trail)."""
    cloudtrail = aws.client("cloudtrail")
    arn = cloudtrail.get_trail(Name=trail["name"])["Trail"]["TrailARN"]
    for names in ([trail["name"]], [arn], [trail["name"], unique("no-such-trail")]):
        assert [t["Name"] for t in cloudtrail.describe_trails(trailNameList=names)["trailList"]] == [trail["name"]]
    assert cloudtrail.describe_trails(trailNameList=[unique("no-such-trail")])["trailList"] == []


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_new_trail_logs_all_management_events(aws, trail):
    """GetEventSelectors on a trail created without selectors: one basic selector, ReadWriteType All,
    IncludeManagementEvents true ("Logging management events": "By default, trails log all
    management events")."""
    answer = aws.client("cloudtrail").get_event_selectors(TrailName=trail["name"])
    assert answer["EventSelectors"] == [{"ReadWriteType": "All", "IncludeManagementEvents": True,
                                         "DataResources": [], "ExcludeManagementEventSources": []}]


@pytest.mark.parametrize("selectors", [
    {"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]},
    {"AdvancedEventSelectors": [{"Name": "writes", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}]},
], ids=["basic-write-only", "advanced-read-only-false"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_write_only_trail_delivers_writes_and_no_reads(aws, secret, reader, trail, selectors):
    """ReadWriteType WriteOnly (or an advanced selector readOnly = false): "Write-only events ... are
    logged"; read-only events such as GetSecretValue are not delivered to the trail's bucket, though
    they stay in Event history (CloudTrail user guide, "Read and write events")."""
    cloudtrail = aws.client("cloudtrail")
    cloudtrail.put_event_selectors(TrailName=trail["name"], **selectors)
    reader["secretsmanager"].get_secret_value(SecretId=secret["arn"])
    reader["secretsmanager"].tag_resource(SecretId=secret["arn"], Tags=[{"Key": "k", "Value": "v"}])
    events = {event["EventName"]: event["EventId"] for event in _lookup(aws, "Username", reader["name"])}
    delivered = {record["eventID"] for record in _delivered(aws, trail["bucket"])}
    assert events["TagResource"] in delivered
    assert events["GetSecretValue"] not in delivered
