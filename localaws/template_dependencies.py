"""Which of a template's resources each resource depends on: Ref, Fn::GetAtt, Fn::Sub and DependsOn.

The same edges as cfn-lint's template graph (cfnlint/graph.py, which the deletion order used to
be read from), without importing cfn-lint: its package imports the whole linter, sympy and
networkx (over half a second of CPU at every stack deletion). What counts, as there:
- DependsOn: a name or a list of names, of a resource whose definition is a mapping with a
  string Type (or none);
- anywhere inside a resource's definition (any depth, inside the functions' own arguments too):
  {"Ref": name}; {"Fn::GetAtt": [name, attribute]} or {"Fn::GetAtt": "name.attribute"};
  {"Fn::Sub": text} or {"Fn::Sub": [text, variables]}, whose ${name} or ${name.attribute} is not
  one of its variables;
- a name counts if it is a resource of the template with a non-empty definition.
tests/unit/test_template_dependencies.py holds it to cfn-lint's graph.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

SUB_VARIABLE = re.compile(r"\${([a-zA-Z0-9.]*)}")


def _functions(value: Any) -> Iterator[tuple[str, Any]]:
    """(key, argument) of every Ref, Fn::GetAtt and Fn::Sub inside `value`, at any depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("Ref", "Fn::GetAtt", "Fn::Sub"):
                yield key, item
            if isinstance(item, (dict, list)):
                yield from _functions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _functions(item)


def _named(key: str, argument: Any) -> Iterator[Any]:
    """The names a function's argument refers to (resources or not)."""
    if key == "Ref":
        yield argument
    elif key == "Fn::GetAtt":
        if isinstance(argument, list) and len(argument) == 2:
            yield argument[0]
        if isinstance(argument, str) and "." in argument:
            yield argument.split(".")[0]
    elif isinstance(argument, (list, str)) and argument:
        text, variables = (argument, {}) if isinstance(argument, str) else (
            argument[0], argument[1] if len(argument) == 2 else {})
        for name in SUB_VARIABLE.findall(text) if isinstance(text, str) else ():
            if name not in variables:
                yield name.split(".")[0]


def dependencies(template: dict[str, Any]) -> dict[str, set[str]]:
    """logical id -> the other resources of the template it depends on."""
    resources = template.get("Resources") or {}

    def is_resource(name: Any) -> bool:
        return isinstance(name, str) and bool(resources.get(name, {}))

    needs: dict[str, set[str]] = {}
    for logical_id, definition in resources.items():
        named: list[Any] = []
        if isinstance(definition, dict) and isinstance(definition.get("Type", ""), str):
            depends_on = definition.get("DependsOn", [])
            named.extend([depends_on] if isinstance(depends_on, str) else
                         depends_on if isinstance(depends_on, list) else [])
        for key, argument in _functions(definition):
            named.extend(_named(key, argument))
        needs[logical_id] = {name for name in named if is_resource(name) and name != logical_id}
    return needs
