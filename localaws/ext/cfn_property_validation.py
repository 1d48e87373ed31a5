"""Every CloudFormation resource's properties are held to its type's registry schema for the stack's
region, as CloudFormation does before it calls the resource's handler, and the resource fails with
CloudFormation's message.

AWS (CloudFormation user guide, "Resource type schema"; re:Post knowledge center "How do I resolve
Model Validation Failed errors in CloudFormation?": "CloudFormation uses Type, Allowed, Minimum,
Maximum, and Pattern values as the acceptance criteria"): a resource whose resolved properties break
its schema fails (CREATE_FAILED, the stack rolled back as usual) with
  "Properties validation failed for resource X with message: #/PolicyEngineId: expected maxLength: 59,
   actual: 91\n#/PolicyEngineId: failed validation constraint for keyword [pattern]"
  ("#: required key [IsLogging] not found", "#/Role: expected type: String, found: JSONArray",
   "#/MethodResponses/0: extraneous key [ResponseHeaders] is not permitted": answers quoted in public
   repositories; the wording is that of the JSON-schema library CloudFormation uses). A value is
checked as CloudFormation converts it: "20" is an integer, 3306 a string, "true" a boolean.
The schemas are the registry's as cfn-lint (pinned in requirements.txt) ships them per region
(cfnlint/data/schemas/providers), with cfn-lint's patches: an enum cfn-lint adds from botocore is
held here too (cfn-lint's own template check, E3030, holds a literal to it already).
What CloudFormation resolves at deploy time is checked as resolved (Ref, Fn::GetAtt, Fn::Sub,
parameters); what the local AWS cannot know is taken as valid: a value moto gives as an object or
None (an attribute it does not model), and a dynamic reference it has not resolved.
moto 5.2.5 validates no property against a schema: a bad value reaches the service's model, which
may take it, garble it or fail with a Python error.
UpdateStack: the local AWS updates without rollback, so a resource whose new properties break its
schema refuses the whole update (ValidationError, AWS's message) instead of UPDATE_ROLLBACK;
resources removed or added before it in that update stay so.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Callable, Iterator

import jsonschema
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError as SchemaError
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend

from localaws import cfnlint_data


class Unknown:
    """A value the local AWS cannot know at this point: it satisfies every constraint."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()
JSON_SCALARS = (str, int, float, bool)


class PropertiesValidationFailed(Exception):
    """The resource's properties break its schema: its failure reason is CloudFormation's text."""

    def __init__(self, logical_id: str, problems: list[str]):
        self.cfn_status_reason = (f"Properties validation failed for resource {logical_id} with message: "
                                  + "\n".join(problems))
        super().__init__(self.cfn_status_reason)
        self.message = self.cfn_status_reason


# --------------------------------------------------------------------------- values as CloudFormation converts them

def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _is_type(_checker: Any, instance: Any, kind: str) -> bool:
    if isinstance(instance, Unknown):
        return True
    if kind == "string":
        return isinstance(instance, JSON_SCALARS)
    if kind == "integer":
        number = _as_number(instance)
        return number is not None and float(number).is_integer()
    if kind == "number":
        return _as_number(instance) is not None
    if kind == "boolean":
        return isinstance(instance, bool) or (isinstance(instance, str) and instance.lower() in ("true", "false"))
    if kind == "object":
        return isinstance(instance, dict)
    if kind == "array":
        return isinstance(instance, list)
    if kind == "null":
        return instance is None
    return False


TYPE_CHECKER = Draft7Validator.TYPE_CHECKER.redefine_many(
    {kind: (lambda checker, instance, kind=kind: _is_type(checker, instance, kind))
     for kind in ("string", "integer", "number", "boolean", "object", "array", "null")})
STRING_KEYWORDS = ("minLength", "maxLength", "pattern")
NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
WHOLE_VALUE_KEYWORDS = ("oneOf", "anyOf", "not", "if", "uniqueItems", "enum", "const", "contains")


def _contains_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, dict):
        return any(_contains_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_contains_unknown(item) for item in value)
    return False


def _keyword(name: str, check: Callable[..., Iterator[SchemaError]]) -> Callable[..., Iterator[SchemaError]]:
    """The standard check, on the value as CloudFormation converts it; an unknown value passes."""
    def converted(validator: Any, expected: Any, instance: Any, schema: dict) -> Iterator[SchemaError]:
        if isinstance(instance, Unknown):
            return
        if name in STRING_KEYWORDS:
            if not isinstance(instance, str):
                if not isinstance(instance, JSON_SCALARS):
                    return
                instance = str(instance).lower() if isinstance(instance, bool) else str(instance)
        elif name in NUMBER_KEYWORDS:
            number = _as_number(instance)
            if number is None:
                return
            instance = int(number) if float(number).is_integer() else number
        elif name == "enum" and isinstance(instance, JSON_SCALARS):
            if any(_text(choice) == _text(instance) for choice in expected):  # "7" is 7, as converted
                return
        if name in WHOLE_VALUE_KEYWORDS and _contains_unknown(instance):
            return  # decided on the whole value (unknown parts all alike, every branch passing): not here
        yield from check(validator, expected, instance, schema)
    return converted


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Iterator[SchemaError]:
    """A registry pattern is ECMA-262 (search, not full match); one Python cannot read is not checked."""
    compiled = _compiled(pattern)
    if compiled is not None and isinstance(instance, str) and not compiled.search(instance):
        yield SchemaError(f"{instance!r} does not match {pattern!r}")


CONVERTING = {name: _keyword(name, check) for name, check in Draft7Validator.VALIDATORS.items()}
CONVERTING["pattern"] = _keyword("pattern", _pattern)
CfnValidator = jsonschema.validators.extend(Draft7Validator, CONVERTING, type_checker=TYPE_CHECKER)


@lru_cache(maxsize=None)
def _schema_hashes(region: str) -> dict[str, str]:
    """Type -> schema file of the region, as cfn-lint 1.58.0 bundles them (read directly: cfn-lint's own
    schema manager may prefer a newer set it downloaded into its cache, which would unpin the rules)."""
    providers = cfnlint_data.folder() / "schemas" / "providers"
    path = providers / f"{region}.json"
    return json.loads((path if path.exists() else providers / "us-east-1.json").read_text())


@lru_cache(maxsize=None)
def validator_for(region: str, resource_type: str) -> Any | None:
    """The type's schema in the region, compiled once per server; None: no schema (custom resources)."""
    schema_hash = _schema_hashes(region).get(resource_type)
    if schema_hash is None:
        return None  # Custom::*, or a type cfn_resource_types refuses
    path = cfnlint_data.folder() / "schemas" / "resources" / f"{schema_hash}.json"
    return CfnValidator(json.loads(path.read_text()))


# --------------------------------------------------------------------------- CloudFormation's message

def _pointer(path: Any) -> str:
    return "#" + "".join(f"/{part}" for part in path)


def _found(instance: Any) -> str:
    if isinstance(instance, bool):
        return "Boolean"
    if isinstance(instance, int):
        return "Integer"
    if isinstance(instance, float):
        return "BigDecimal"
    return {str: "String", dict: "JSONObject", list: "JSONArray", type(None): "Null"}.get(type(instance), "Object")


def _problems(error: SchemaError) -> Iterator[str]:
    where, keyword, expected, instance = _pointer(error.absolute_path), error.validator, error.validator_value, \
        error.instance
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        yield f"{where}: expected type: {'/'.join(kind.capitalize() for kind in kinds)}, found: {_found(instance)}"
    elif keyword == "required":
        for key in expected:
            if isinstance(instance, dict) and key not in instance:
                yield f"{where}: required key [{key}] not found"
    elif keyword == "additionalProperties" and isinstance(instance, dict):
        known = set(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        for key in instance:
            if key not in known and not any(p.search(key) for p in patterns):
                yield f"{where}: extraneous key [{key}] is not permitted"
    elif keyword in ("maxLength", "minLength"):
        yield f"{where}: expected {keyword}: {expected}, actual: {len(str(instance))}"
    else:
        yield f"{where}: failed validation constraint for keyword [{keyword}]"


def _known(value: Any) -> Any:
    """The resolved properties, with what the local AWS cannot know marked so."""
    if isinstance(value, dict):
        return {key: _known(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_known(item) for item in value]
    if isinstance(value, str) and "{{resolve:" in value:
        return UNKNOWN
    if isinstance(value, JSON_SCALARS):
        return value
    return UNKNOWN


def problems(region: str, resource_type: str, properties: dict[str, Any]) -> list[str]:
    """CloudFormation's problem lines for these resolved properties (none: the schema takes them)."""
    validator = validator_for(region, resource_type)
    if validator is None:
        return []
    found: list[str] = []
    for error in sorted(validator.iter_errors(_known(properties or {})), key=lambda e: list(e.absolute_path)):
        found.extend(line for line in _problems(error) if line not in found)
    return found


# --------------------------------------------------------------------------- the hook

_original_parse = parsing.parse_resource_and_generate_name


def parse_resource_and_generate_name(logical_id: str, resource_json: dict[str, Any], resources_map: Any) -> Any:
    parsed = _original_parse(logical_id, resource_json, resources_map)
    if parsed:
        resolved = parsed[1]
        found = problems(resources_map._region_name, resolved["Type"], resolved.get("Properties") or {})
        if found:
            raise PropertiesValidationFailed(logical_id, found)
    return parsed


_original_update_stack = CloudFormationBackend.update_stack


def update_stack(self: CloudFormationBackend, *args: Any, **kwargs: Any) -> Any:
    try:
        return _original_update_stack(self, *args, **kwargs)
    except PropertiesValidationFailed as failed:
        raise ValidationError(message=failed.cfn_status_reason)


def install() -> None:
    global _original_parse, _original_update_stack
    _original_parse = parsing.parse_resource_and_generate_name
    parsing.parse_resource_and_generate_name = parse_resource_and_generate_name
    _original_update_stack = CloudFormationBackend.update_stack
    CloudFormationBackend.update_stack = update_stack
