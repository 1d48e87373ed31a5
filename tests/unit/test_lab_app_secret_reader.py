"""app/secret_reader.py: every error it cannot handle is raised (the lab's original returned None)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import botocore.session
import pytest
from botocore.stub import Stubber

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "workshop" / "app"))
from secret_reader import SecretReadError, get_secret, region_of  # noqa: E402

ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:smdemo-AbCdEf"


def stubbed():
    client = botocore.session.get_session().create_client(
        "secretsmanager", region_name="eu-west-1", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="example")
    return client, Stubber(client)


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException", "DecryptionFailure"])
def test_an_error_of_secrets_manager_is_raised_with_its_code(code):
    client, stub = stubbed()
    stub.add_client_error("get_secret_value", service_error_code=code, service_message="no")
    with stub, pytest.raises(SecretReadError, match=code):
        get_secret(ARN, client)


def test_a_secret_without_the_login_fields_is_refused_by_name():
    client, stub = stubbed()
    stub.add_response("get_secret_value", {"ARN": ARN, "Name": "smdemo", "SecretString": json.dumps({"username": "u"})})
    with stub, pytest.raises(SecretReadError, match="host, port, password"):
        get_secret(ARN, client)


def test_the_region_is_the_arns():
    assert region_of(ARN) == "eu-west-1" and region_of("smdemo") is None
