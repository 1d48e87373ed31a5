"""The deletion order's dependencies (localaws/template_dependencies.py) are cfn-lint's template graph's edges:
for the workshop's template, for every broken and valid variant the self-tests deploy, and for each form."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cfnlint.template import Template
from moto.cloudformation import models, responses
from moto.cloudformation.models import Stack

from localaws.ext import cfn_template_yaml
from localaws.template_dependencies import dependencies
from tests.support import faults
from tests.support.template_file import TEMPLATE_PATH

FORMS = textwrap.dedent("""\
    Parameters:
      Name: {Type: String}
    Conditions:
      Always: !Equals [!Ref Name, !Ref Name]
    Resources:
      Base: {Type: AWS::S3::Bucket}
      Other: {Type: AWS::S3::Bucket, Properties: {BucketName: !Ref Name}}
      Empty: {}
      ListDefinition: [{Ref: Base}]
      NoType: {DependsOn: Other}
      NumberType: {Type: 1, DependsOn: [Base]}
      DependsOnName: {Type: X, DependsOn: Base}
      DependsOnList: {Type: X, DependsOn: [Base, Other, Name, Empty, Missing, 3, DependsOnList]}
      DependsOnMapping: {Type: X, DependsOn: {Base: 1}}
      RefDeep: {Type: X, Properties: {A: [1, [{Ref: Base}]]}}
      RefNotResources: {Type: X, Properties: {B: {Ref: Name}, C: {Ref: Empty}, D: {Ref: RefNotResources}}}
      GetAttShort: {Type: X, Properties: {A: !GetAtt Base.Arn}}
      GetAttShortList: {Type: X, Properties: {A: !GetAtt [Base, Arn]}}
      GetAttLongList: {Type: X, Properties: {A: {"Fn::GetAtt": [Base, Arn]}}}
      GetAttLongText: {Type: X, Properties: {A: {"Fn::GetAtt": Base.Arn}}}
      GetAttOthers: {Type: X, Properties: {A: {"Fn::GetAtt": [Base, Arn, X]}, B: {"Fn::GetAtt": Base}}}
      SubText: {Type: X, Properties: {A: !Sub "${Base}-${AWS::Region}-${Name}-${!Other}"}}
      SubAttribute: {Type: X, Properties: {A: !Sub "x${Base.Arn}"}}
      SubVariables: {Type: X, Properties: {A: !Sub ["${Base}-${V}", {V: !Ref Other}]}}
      SubShadowed: {Type: X, Properties: {A: !Sub ["${Base}", {Base: x}]}}
      SubOneItem: {Type: X, Properties: {A: !Sub ["${Base}"]}}
      SubTextVariables: {Type: X, Properties: {A: !Sub ["${Base}-${Other}", "Others"]}}
      SubOdd: {Type: X, Properties: {E: {"Fn::Sub": []}, F: {"Fn::Sub": ""}, G: {"Fn::Sub": {A: 1}},
                                     I: !Sub [[1], {}], J: !Sub "${.}-${Base.}"}}
      Nested: {Type: X, Metadata: {Ref: {Ref: Base}}, Condition: Always,
               Properties: {A: !If [Always, !Join ["", [!Ref Other]], !Ref AWS::NoValue]}}
    Outputs:
      Out: {Value: !Ref Base}
    """)
EXPECTED = {
    "Base": set(), "Other": set(), "Empty": set(), "ListDefinition": {"Base"}, "NoType": {"Other"},
    "NumberType": set(), "DependsOnName": {"Base"}, "DependsOnList": {"Base", "Other"}, "DependsOnMapping": set(),
    "RefDeep": {"Base"}, "RefNotResources": set(),
    "GetAttShort": {"Base"},  # moto makes it ["Base", "Arn"]
    "GetAttShortList": set(),  # moto leaves its items YAML nodes: no name
    "GetAttLongList": {"Base"}, "GetAttLongText": {"Base"}, "GetAttOthers": set(),
    "SubText": {"Base"}, "SubAttribute": {"Base"}, "SubVariables": {"Base", "Other"}, "SubShadowed": set(),
    "SubOneItem": {"Base"},
    "SubTextVariables": {"Base"},  # a text for variables: "Other" is in "Others"
    "SubOdd": {"Base"}, "Nested": {"Base", "Other"},
}


def cfn_lint_graph(template: dict[str, Any]) -> dict[str, set[str]]:
    """How the deletion order was read before: cfn-lint's template graph."""
    graph = Template("stack", template, ["us-east-1"]).graph.graph
    resources = template.get("Resources") or {}
    return {logical_id: {needed for needed in (graph.successors(logical_id) if logical_id in graph else ())
                         if needed in resources and needed != logical_id}
            for logical_id in resources}


def test_each_form_counts_as_in_cfn_lint_s_graph():
    template = Stack.parse_template(FORMS)
    assert cfn_lint_graph(template) == EXPECTED
    assert dependencies(template) == EXPECTED


VARIANTS = (None, *faults.TEMPLATE_FAULTS, *faults.RDS_FAULTS, *faults.FARGATE_FAULTS, *faults.TLS_USER_FAULTS,
            *faults.APP_FAULTS, *faults.AUDIT_FAULTS, faults.TEARDOWN_FAULT, faults.DELETION_PROTECTED_FAULT,
            *faults.ACCEPTED_VARIANTS)


def test_the_workshop_s_templates_have_cfn_lint_s_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # libyaml's parser for moto's parse (the same documents, seconds sooner), undone after the test
    monkeypatch.setattr(models, "yaml", models.yaml)
    monkeypatch.setattr(responses, "yaml", responses.yaml)
    cfn_template_yaml.install()
    texts: dict[str, str] = {}  # template -> the first variant that has it
    for number, variant in enumerate(VARIANTS):
        workshop = tmp_path / str(number)
        shutil.copytree(TEMPLATE_PATH.parent, workshop, ignore=shutil.ignore_patterns("__pycache__"))
        if variant is not None:
            variant.apply(workshop)
        texts.setdefault((workshop / "template.yaml").read_text(), getattr(variant, "name", "workshop"))
    assert len(texts) > 20
    for text, name in texts.items():
        template = Stack.parse_template(text)
        assert dependencies(template) == cfn_lint_graph(template), name
