"""moto's CloudFormation parses YAML templates with libyaml: the same document, a tenth of the CPU.

moto 5.2.5 reads every template (CreateStack, UpdateStack, change sets, GetTemplateSummary) with
PyYAML's pure-Python `yaml.Loader` and its short-form tag constructor (`!Ref`, `!GetAtt a.b`,
...): about 0.1 s of CPU per parse of the workshop's template, several parses a run.
`yaml.CLoader` is the same loader with libyaml's scanner and parser in place of the pure-Python
ones: the same constructors and resolvers (shared with `yaml.Loader` here, so whatever moto
registers counts), the same errors (ParserError, ScannerError: moto then tries JSON).
Not an AWS behaviour: only the CPU it costs changes.
"""
from __future__ import annotations

from typing import Any

import yaml
from moto.cloudformation import models, responses


class TemplateLoader(yaml.CLoader):
    """yaml.Loader's constructors and resolvers on libyaml's parser."""


def _with_loader_tables() -> type:
    # moto registers its tag constructor on yaml.Loader right before each load: read its tables then.
    for table in ("yaml_constructors", "yaml_multi_constructors", "yaml_implicit_resolvers",
                  "yaml_path_resolvers"):
        setattr(TemplateLoader, table, getattr(yaml.Loader, table))
    return TemplateLoader


class _YamlForTemplates:
    """moto's view of the yaml module: load(..., Loader=yaml.Loader) parses with TemplateLoader."""

    def __getattr__(self, name: str) -> Any:
        return getattr(yaml, name)

    @staticmethod
    def load(stream: Any, Loader: Any) -> Any:  # noqa: N803 - yaml.load's own keyword
        return yaml.load(stream, Loader=_with_loader_tables() if Loader is yaml.Loader else Loader)


def install() -> None:
    if not yaml.__with_libyaml__:
        return  # PyYAML built without libyaml: moto's own loader stays
    models.yaml = _YamlForTemplates()
    responses.yaml = _YamlForTemplates()
