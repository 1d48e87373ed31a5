"""What moto 5.2.5 makes of workshop/template.yaml: it validates, parses parameters and conditions,
and lacks no resource type beyond the known ones (the local AWS's extensions add those).

No AWS and no full stack creation here.
"""

from __future__ import annotations

import pytest
from cfnlint.template import Template

from suite.controls import template as tc
from tests.support.template_file import REQUIRED_PARAMS

# Resource types of the template that plain moto 5.2.5 has no CloudFormation model for
# (create_stack skips them silently). Extensions may add models; no new gap may appear.
MOTO_KNOWN_MISSING = {
    "AWS::SecretsManager::Secret",
    "AWS::SecretsManager::SecretTargetAttachment",
    "AWS::SecretsManager::RotationSchedule",
    "AWS::CloudTrail::Trail",
    "AWS::EC2::KeyPair",
    "AWS::S3::BucketPolicy",
}


# --------------------------------------------------------------------------- moto


@pytest.fixture
def aws_env(monkeypatch):
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def test_moto_validate_template(aws_env, text):
    import boto3
    from moto import mock_aws

    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        r = cfn.validate_template(TemplateBody=text)
        assert r["Description"].startswith("Secrets Manager with RDS and Fargate")


def _resource_map(template, params):
    from moto.cloudformation.parsing import ResourceMap

    rm = ResourceMap(
        stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/t/1", stack_name="t",
        parameters=params, tags={}, region_name="us-east-1", account_id="123456789012",
        template=template, cross_stack_resources={},
    )
    rm.load()  # parameters, conditions, and the GetAtt attributes of the Outputs
    return rm


def test_moto_parses_parameters_and_conditions(aws_env, template):
    from moto import mock_aws
    from moto.cloudformation.exceptions import MissingParameterError

    with mock_aws():
        rm = _resource_map(template, REQUIRED_PARAMS)
        assert rm.resolved_parameters == {
            "NamePrefix": "smdemo", "ProjectTag": "smproj", "SecretName": "smdemo", "DBName": "smdemo",
            "DBPort": 3306, "DBInstanceClass": "db.t3.micro", **REQUIRED_PARAMS,
            "AdminCidr": "127.0.0.1/32", "BastionPublicKey": "",
        }
        assert rm.lazy_condition_map["HasBastionKey"] is False

        rm = _resource_map(template, {**REQUIRED_PARAMS, "DBPort": "5432", "BastionPublicKey": "ssh-ed25519 AAAA test"})
        assert rm.resolved_parameters["DBPort"] == 5432
        assert rm.lazy_condition_map["HasBastionKey"] is True

        with pytest.raises(MissingParameterError):
            _resource_map(template, {"RotationCodeBucket": "b", "RotationCodeKey": "k", "BastionFilesKey": "f"})


def test_moto_unsupported_types_are_the_known_ones(template):
    missing = set(moto_unsupported_types(template))
    print("resource types moto lacks:", sorted(missing))
    # extensions may register models for some of them; no other gap may appear
    assert missing <= MOTO_KNOWN_MISSING


def test_no_getatt_on_types_moto_lacks(template):
    """Fn::GetAtt (and ${X.Attr} in Fn::Sub) on a type moto cannot create crashes create_stack."""
    types = {lid: r["Type"] for lid, r in template["Resources"].items()}

    # Every Fn::GetAtt and ${X.Attr} of Fn::Sub, in resources and outputs, as cfn-lint's template graph
    # reads them (the graph the local AWS deletes stacks by).
    graph = Template("template.yaml", template, ["us-east-1"]).graph.graph
    targets = {target for _, target, edge in graph.edges(data=True) if edge["label"] == "GetAtt"}
    assert targets and all(t in types for t in targets)
    assert {t for t in targets if types[t] in MOTO_KNOWN_MISSING} == set()


def moto_unsupported_types(template: dict) -> list[str]:
    """Resource types of the template that moto's CloudFormation model map does not know
    (moto silently skips them on create_stack)."""
    from moto.cloudformation.parsing import get_model_map

    known = set(get_model_map())
    return sorted(t for t in tc.resource_types(template) if t not in known and not t.startswith("Custom::"))
