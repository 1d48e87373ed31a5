"""moto reads templates with libyaml (localaws/ext/cfn_template_yaml.py): the same document as its own loader."""
from __future__ import annotations

import textwrap

import pytest
import yaml
from moto.cloudformation import models, responses

from localaws.ext import cfn_template_yaml
from tests.support.template_file import TEMPLATE_PATH

SHORT_FORMS = textwrap.dedent("""\
    AWSTemplateFormatVersion: "2010-09-09"
    Conditions:
      IsProd: !Equals [!Ref Env, prod]
      NotProd: !Not [!Condition IsProd]
      Either: !Or [!Condition IsProd, !And [!Condition NotProd, !Equals ["a", "a"]]]
    Resources:
      Bucket:
        Type: AWS::S3::Bucket
        Properties:
          BucketName: !Sub "${AWS::StackName}-${Env}-bucket"
          Other: !Sub ["${A}-x", {A: !Ref Env}]
          Arn: !GetAtt Role.Arn
          ArnList: !GetAtt [Role, Arn]
          Picked: !If [IsProd, !Select [0, !GetAZs ""], !Ref AWS::NoValue]
          Joined: !Join [",", !Split ["|", "a|b"]]
          Mapped: !FindInMap [Map, !Ref AWS::Region, Key]
          Encoded: !Base64 "text"
          Cidrs: !Cidr [10.0.0.0/16, 4, 8]
          Imported: !ImportValue Shared-Vpc
          Length: !Length [1, 2]
          Json: !ToJsonString {a: 1}
          Transformed: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}
          Plain: [1, 1.5, true, null, 2026-01-02, "0755", 0755, ~, yes, 1e3]
          Anchored: &anchor {k: v}
          Again: *anchor
          Block: |
            line one
            line two
          Folded: >
            folded
            text
    """)


def moto_own(text: str) -> object:
    """moto's parse with its own pure-Python loader: the document, or the exception's type."""
    patched = models.yaml
    models.yaml = yaml  # type: ignore[assignment]
    try:
        return comparable(models.Stack.parse_template(text))
    except Exception as failed:  # noqa: BLE001 - the failure is part of the answer
        return type(failed)
    finally:
        models.yaml = patched


def with_libyaml(text: str) -> object:
    try:
        return comparable(models.Stack.parse_template(text))
    except Exception as failed:  # noqa: BLE001
        return type(failed)


def comparable(value: object) -> object:
    """The document with its values' types; a YAML node by its content (moto leaves nodes in the document: the
    items of `!GetAtt [a, b]`, a mapping after a tag)."""
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):  # a mapping node's value: a list of (key, value) node tuples
        return [type(value).__name__, *(comparable(item) for item in value)]
    if isinstance(value, yaml.Node):
        return (type(value).__name__, value.tag, comparable(value.value))
    return (type(value).__name__, value)


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "yaml", models.yaml)
    monkeypatch.setattr(responses, "yaml", responses.yaml)
    cfn_template_yaml.install()


def test_libyaml_is_there():
    assert yaml.__with_libyaml__, "PyYAML without libyaml: templates are parsed by the pure-Python loader"
    assert models.yaml.load is cfn_template_yaml._YamlForTemplates.load


@pytest.mark.parametrize("text", [
    TEMPLATE_PATH.read_text(encoding="utf-8"),
    SHORT_FORMS,
    '{"Resources": {"A": {"Type": "AWS::S3::Bucket", "Properties": {"N": 1.0}}}}',
    '{\n\t"Resources": {}\n}',  # a tab YAML refuses: both fail with ScannerError, and moto reads JSON
    "a: [b\nc: d",  # neither YAML nor JSON
    "a: !Ref\nb: !GetAtt\n",  # tags without values
], ids=["workshop", "short-forms", "json", "json-with-tab", "broken", "empty-tags"])
def test_the_parsed_template_is_moto_s_own(text: str):
    assert with_libyaml(text) == moto_own(text)


def test_every_short_form_becomes_its_long_form():
    properties = models.Stack.parse_template(SHORT_FORMS)["Resources"]["Bucket"]["Properties"]
    assert properties["Arn"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert properties["Picked"] == {"Fn::If": ["IsProd", {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
                                               {"Ref": "AWS::NoValue"}]}
    assert properties["Other"] == {"Fn::Sub": ["${A}-x", {"A": {"Ref": "Env"}}]}
    assert properties["Imported"] == {"Fn::ImportValue": "Shared-Vpc"}
