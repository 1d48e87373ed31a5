"""The response validator (localaws/ext/response_shapes.py) fails a malformed answer, naming the
operation and the member: null where AWS omits, a member the shape does not have, a wrong wire
type, a value outside an enum, a required member missing; JSON and XML protocols alike."""
from __future__ import annotations

import json

import pytest

from localaws.ext.response_shapes import violations
from localaws.service import LocalAWS


def problems(service: str, operation: str, body: object) -> list[tuple[str, str]]:
    return violations(service, operation, 200, json.dumps(body) if not isinstance(body, str) else body)


def test_a_well_formed_json_answer_passes():
    assert problems("secretsmanager", "DescribeSecret", {
        "ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf", "Name": "x",
        "VersionIdsToStages": {"v1": ["AWSCURRENT"]}, "CreatedDate": 1700000000, "RotationEnabled": True}) == []


@pytest.mark.parametrize("body, member, problem", [
    ({"Name": "x", "LastAccessedDate": None}, "DescribeSecret.LastAccessedDate", "null"),
    ({"Name": "x", "SecretVersionsToStages": {}}, "DescribeSecret.SecretVersionsToStages", "not a member"),
    ({"Name": 7}, "DescribeSecret.Name", "not a string"),
    ({"Name": "x", "RotationEnabled": "yes"}, "DescribeSecret.RotationEnabled", "not a boolean"),
    ({"Name": "x", "VersionIdsToStages": {"v1": "AWSCURRENT"}}, "DescribeSecret.VersionIdsToStages.v1", "not a list"),
], ids=["null", "extra-member", "wire-type", "boolean", "nested-type"])
def test_a_malformed_json_answer_is_named(body, member, problem):
    found = problems("secretsmanager", "DescribeSecret", body)
    assert any(path == member and problem in text for path, text in found), found


def test_an_enum_value_outside_the_model_and_a_missing_required_member():
    found = problems("ecs", "DescribeTasks", {"tasks": [{"launchType": "MAINFRAME"}], "failures": [{}]})
    assert ("DescribeTasks.tasks[0].launchType", found[0][1]) in found and "not one of its values" in found[0][1]
    found = problems("cloudtrail", "LookupEvents", {"Events": [{"Resources": [{"ResourceType": 5}]}]})
    assert any("not a string" in text for _, text in found)


def test_xml_answers_are_checked_by_element():
    body = ("<DescribeDBInstancesResponse><DescribeDBInstancesResult><DBInstances><DBInstance>"
            "<DBInstanceIdentifier>db</DBInstanceIdentifier><AllocatedStorage>twenty</AllocatedStorage>"
            "<NotAnRdsMember>1</NotAnRdsMember></DBInstance></DBInstances></DescribeDBInstancesResult>"
            "</DescribeDBInstancesResponse>")
    found = dict(problems("rds", "DescribeDBInstances", body))
    assert "is not an integer" in found["DescribeDBInstances.DBInstances[0].AllocatedStorage"]
    assert found["DescribeDBInstances.DBInstances[0].NotAnRdsMember"] == "not a member of the output shape"


def test_errors_and_raw_payloads_are_not_held_to_the_output_shape():
    assert violations("secretsmanager", "DescribeSecret", 400, '{"__type": "ResourceNotFoundException"}') == []
    assert violations("lambda", "Invoke", 200, "null") == []


def test_moto_without_the_fixes_is_caught_on_the_way(tmp_path, monkeypatch):
    """With the fixes left out, the local AWS answers DescribeSecret as moto does, and the
    validator, on every call, records each member that AWS would not answer so."""
    monkeypatch.setenv("LOCALAWS_WITHOUT", "json_answers,secrets_answers")
    local = LocalAWS(tmp_path).start()
    try:
        sm = local.client("secretsmanager")
        arn = sm.create_secret(Name="validator-probe", SecretString="{}")["ARN"]
        sm.describe_secret(SecretId=arn)  # botocore parses it happily
    finally:
        local.stop()
    found = {(v["operation"], v["member"]) for v in local.violations()}
    assert ("DescribeSecret", "DescribeSecret.SecretVersionsToStages") in found, found
    assert ("DescribeSecret", "DescribeSecret.LastAccessedDate") in found, found
