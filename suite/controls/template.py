"""The template-side controls: the workshop's CloudFormation template read as YAML, no AWS.

The template uses only the long forms of intrinsic functions (``Ref:``, ``Fn::GetAtt: [R, A]``,
``Fn::Sub:`` ...), so ``yaml.safe_load`` parses it; a short-form tag (``!GetAtt``) makes
``load_template`` fail, which is intended (moto 5.2.5 cannot load ``!GetAtt A.B``).

Every helper takes the parsed template (a dict) and returns plain data (lists of problems or of
matching items). What the account holds once deployed is read by `suite.controls.deployed`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from suite.controls.policy import as_list, grants_service

SECRET_LOGICAL_ID = "DBSecret"

# Names of plain environment variables that must never carry credentials (ECS.8).
PASSWORDISH_NAME = re.compile(
    r"pass(word|wd)?|pwd|secret|token|credential|api[_-]?key|private[_-]?key|auth",
    re.IGNORECASE,
)
# Values that would put a credential (or a way to resolve one) into plain text.
PASSWORDISH_VALUE = re.compile(
    r"\{\{resolve:(secretsmanager|ssm-secure)|password\s*[=:]|\"password\"\s*:",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- loading

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # PyYAML built without libyaml: its own


def load_template(path: str | Path) -> dict[str, Any]:
    """Parse the long-form YAML template as ``yaml.safe_load`` does (no custom tags): with libyaml's parser (a
    tenth of the CPU, the parser moto's CloudFormation uses here too), the same constructors; a template it
    cannot parse is parsed again by PyYAML's own, whose error quotes the line at fault."""
    try:
        with open(path, encoding="utf-8") as fh:
            template = yaml.load(fh, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        with open(path, encoding="utf-8") as fh:  # its error names the file, the line and quotes it
            template = yaml.safe_load(fh)
    if not isinstance(template, dict) or "Resources" not in template:
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return template


def resources(template: dict[str, Any], resource_type: str | None = None) -> dict[str, dict]:
    """Logical id -> resource, optionally only of one type."""
    return {
        lid: res
        for lid, res in (template.get("Resources") or {}).items()
        if resource_type is None or res.get("Type") == resource_type
    }


def properties(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties") or {}


def cfn_bool(value: Any) -> bool | None:
    """CloudFormation boolean: True/False, "true"/"false"; None when not a literal (Ref, If ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def is_ref(value: Any, logical_id: str) -> bool:
    """True if value is exactly ``{Ref: logical_id}``."""
    return isinstance(value, dict) and list(value) == ["Ref"] and value["Ref"] == logical_id


def string_leaves(value: Any) -> Iterator[str]:
    """Every string inside a (possibly intrinsic-function) value, keys of dicts excluded."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from string_leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from string_leaves(v)


def references(value: Any) -> set[str]:
    """Logical ids / parameters referenced through Ref, Fn::GetAtt or ${...} in Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, v in value.items():
            if key == "Ref" and isinstance(v, str):
                found.add(v)
            elif key == "Fn::GetAtt":
                target = v[0] if isinstance(v, list) else str(v).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                if isinstance(text, str):
                    for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                        found.add(name.split(".")[0])
                if isinstance(v, list) and len(v) > 1:
                    found |= references(v[1])
            else:
                found |= references(v)
    elif isinstance(value, list):
        for v in value:
            found |= references(v)
    return found


# --------------------------------------------------------------------------- IAM statements


@dataclass
class Statement:
    """One policy statement found in the template."""

    logical_id: str
    resource_type: str
    path: str
    statement: dict[str, Any] = field(repr=False)

    @property
    def effect(self) -> str:
        return str(self.statement.get("Effect", ""))

    @property
    def actions(self) -> list[str]:
        return as_list(self.statement.get("Action"))

    @property
    def resource(self) -> Any:
        return self.statement.get("Resource")

    def __str__(self) -> str:
        sid = self.statement.get("Sid", "?")
        return f"{self.logical_id}{self.path} (Sid {sid})"


def _walk_policy_documents(value: Any, path: str) -> Iterator[tuple[str, dict]]:
    """(path, statement) for every policy document (a mapping with a Statement key)."""
    if isinstance(value, dict):
        if "Statement" in value and isinstance(value["Statement"], (list, dict)):
            for i, stmt in enumerate(as_list(value["Statement"])):
                if isinstance(stmt, dict):
                    yield f"{path}.Statement[{i}]", stmt
            return
        for key, v in value.items():
            yield from _walk_policy_documents(v, f"{path}.{key}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_policy_documents(v, f"{path}[{i}]")


def policy_statements(template: dict[str, Any]) -> list[Statement]:
    """Every statement of every policy document in the template: IAM role/policy documents,
    trust policies, bucket policies, resource policies, endpoint policies ..."""
    out = []
    for lid, res in resources(template).items():
        for path, stmt in _walk_policy_documents(properties(res), ""):
            out.append(Statement(lid, res.get("Type", ""), path, stmt))
    return out


def secret_statements(template: dict[str, Any]) -> list[Statement]:
    """Allow statements granting any ``secretsmanager:`` action."""
    return [s for s in policy_statements(template) if grants_service(s.statement, "secretsmanager")]


def has_wildcard_resource(stmt: Statement) -> bool:
    """Resource is missing, uses NotResource, or contains a ``*``/``?`` anywhere
    (plain strings and strings inside Fn::Sub / Fn::Join alike)."""
    if "NotResource" in stmt.statement or "Resource" not in stmt.statement:
        return True
    return any(("*" in s or "?" in s) for s in string_leaves(stmt.resource))


def statements_granting_secretsmanager_on_wildcard(template: dict[str, Any]) -> list[Statement]:
    return [s for s in secret_statements(template) if has_wildcard_resource(s)]


def secret_statements_not_scoped_to(
    template: dict[str, Any], *secret_logical_ids: str
) -> list[Statement]:
    """Secrets Manager grants whose Resource is anything but ``{Ref: <secret>}`` (or a list of
    such references) to the named secrets of the stack (default: the database secret)."""
    allowed = secret_logical_ids or (SECRET_LOGICAL_ID,)

    def scoped(resource: Any) -> bool:
        items = resource if isinstance(resource, list) else [resource]
        return bool(items) and all(any(is_ref(item, lid) for lid in allowed) for item in items)

    return [s for s in secret_statements(template) if not scoped(s.resource)]


def granted_actions(template: dict[str, Any], logical_id: str) -> set[str]:
    """All actions allowed by the policies attached inline to one resource (e.g. a role)."""
    acts: set[str] = set()
    for s in policy_statements(template):
        if s.logical_id == logical_id and s.effect == "Allow" and ".AssumeRolePolicyDocument" not in s.path:
            acts |= {a for a in s.actions if isinstance(a, str)}
    return acts


def managed_policy_arns(template: dict[str, Any]) -> list[tuple[str, Any]]:
    """(logical id, ARN) of every ManagedPolicyArns entry (moto does not load AWS managed policies)."""
    out = []
    for lid, res in resources(template).items():
        for arn in as_list(properties(res).get("ManagedPolicyArns")):
            out.append((lid, arn))
    return out


# --------------------------------------------------------------------------- other checks


def schedule_days(rules: dict[str, Any]) -> float | None:
    """The longest interval a rotation schedule allows, in days (None: not known)."""
    if rules.get("AutomaticallyAfterDays"):
        return float(rules["AutomaticallyAfterDays"])
    expression = str(rules.get("ScheduleExpression") or "")
    rate = re.fullmatch(r"rate\((\d+) (hour|hours|day|days)\)", expression)
    if rate:
        return int(rate.group(1)) / (24 if rate.group(2).startswith("hour") else 1)
    cron = re.fullmatch(r"cron\((.+)\)", expression)
    if cron:
        fields = cron.group(1).split()
        # Every month (or more often) unless the month field names months: at most 31 days apart.
        return 31.0 if len(fields) >= 5 and fields[3] in ("*", "?") else None
    return None


def rotation_schedule_problems(template: dict[str, Any], max_days: int = 30) -> list[str]:
    """RotationSchedules must not rotate on create/update and must rotate at least every max_days days
    (AutomaticallyAfterDays, or a ScheduleExpression: rate(4 hours), Secrets Manager's shortest, is fine)."""
    problems = []
    schedules = resources(template, "AWS::SecretsManager::RotationSchedule")
    if not schedules:
        problems.append("no AWS::SecretsManager::RotationSchedule")
    for lid, res in schedules.items():
        props = properties(res)
        if cfn_bool(props.get("RotateImmediatelyOnUpdate")) is not False:
            problems.append(f"{lid}: RotateImmediatelyOnUpdate must be literally false")
        rules = props.get("RotationRules") or {}
        try:
            days = schedule_days(rules)
        except (TypeError, ValueError):
            days = None
        if days is None or not 0 < days <= max_days:
            problems.append(f"{lid}: RotationRules {rules!r}: not a rotation at least every {max_days} days")
    return problems


def publicly_accessible_db_instances(template: dict[str, Any]) -> list[str]:
    """DB instances that are (or may be) publicly accessible: PubliclyAccessible must be false."""
    return [
        lid
        for lid, res in resources(template, "AWS::RDS::DBInstance").items()
        if cfn_bool(properties(res).get("PubliclyAccessible")) is not False
    ]


def task_definition_problems(
    template: dict[str, Any], secret_logical_id: str = SECRET_LOGICAL_ID
) -> list[str]:
    """ECS.8-style checks: nothing password-ish in any container's plain Environment, at least
    one container Secret whose ValueFrom is exactly ``{Ref: <secret>}`` (TASKDEF_SECRET must be
    that one), and every other Secret taken from one of the stack's own secrets."""
    problems = []
    sensitive = {secret_logical_id} | {
        lid for lid in resources(template, "AWS::SecretsManager::Secret")
    } | {p for p, spec in (template.get("Parameters") or {}).items() if cfn_bool(spec.get("NoEcho"))}
    taskdefs = resources(template, "AWS::ECS::TaskDefinition")
    if not taskdefs:
        problems.append("no AWS::ECS::TaskDefinition")
    for lid, res in taskdefs.items():
        secret_refs = 0
        for c in as_list(properties(res).get("ContainerDefinitions")):
            cname = c.get("Name", "?")
            for env in as_list(c.get("Environment")):
                name, value = str(env.get("Name", "")), env.get("Value")
                where = f"{lid}/{cname}: Environment {name}"
                if PASSWORDISH_NAME.search(name):
                    problems.append(f"{where}: password-ish variable name")
                if any(PASSWORDISH_VALUE.search(s) for s in string_leaves(value)):
                    problems.append(f"{where}: password-ish value")
                if references(value) & sensitive:
                    problems.append(f"{where}: value derived from a secret or NoEcho parameter")
            for sec in as_list(c.get("Secrets")):
                if is_ref(sec.get("ValueFrom"), secret_logical_id):
                    secret_refs += 1
                elif sec.get("Name") != "TASKDEF_SECRET" and references(sec.get("ValueFrom")) & sensitive:
                    continue  # another of the stack's secrets (the container user's password)
                else:
                    problems.append(
                        f"{lid}/{cname}: Secret {sec.get('Name')} ValueFrom is not {{Ref: {secret_logical_id}}}"
                    )
        if secret_refs == 0:
            problems.append(f"{lid}: no container secret refers to {secret_logical_id}")
    return problems


def resources_missing_project_tag(
    template: dict[str, Any], taggable_types: set[str], tag_key: str = "Project", parameter: str = "ProjectTag"
) -> list[str]:
    """Resources of a taggable type without ``{Key: Project, Value: {Ref: ProjectTag}}``."""
    missing = []
    for lid, res in resources(template).items():
        if res.get("Type") not in taggable_types:
            continue
        tags = properties(res).get("Tags")
        if isinstance(tags, dict):  # map-style Tags (some resource types)
            ok = is_ref(tags.get(tag_key), parameter)
        else:
            ok = any(t.get("Key") == tag_key and is_ref(t.get("Value"), parameter) for t in as_list(tags))
        if not ok:
            missing.append(lid)
    return missing


def resource_types(template: dict[str, Any]) -> set[str]:
    return {res["Type"] for res in resources(template).values()}


def parameter_value_problems(template: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Check parameter values (strings, as given to CloudFormation) against the template's
    constraints: unknown names, missing values without Default, AllowedPattern, AllowedValues,
    Min/MaxLength and Min/MaxValue. Moto does not enforce these; CloudFormation does."""
    problems = []
    specs = template.get("Parameters") or {}
    for name in values:
        if name not in specs:
            problems.append(f"{name}: not a parameter of the template")
    for name, spec in specs.items():
        if name in values:
            value = values[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            problems.append(f"{name}: no value and no Default")
            continue
        text = str(value)
        ptype = spec.get("Type", "String")
        if ptype == "Number":
            try:
                num = float(text)
            except ValueError:
                problems.append(f"{name}: {text!r} is not a number")
                continue
            if "MinValue" in spec and num < float(spec["MinValue"]):
                problems.append(f"{name}: {text} < MinValue {spec['MinValue']}")
            if "MaxValue" in spec and num > float(spec["MaxValue"]):
                problems.append(f"{name}: {text} > MaxValue {spec['MaxValue']}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, text):
            problems.append(f"{name}: {text!r} does not match AllowedPattern {pattern}")
        allowed = spec.get("AllowedValues")
        if allowed is not None and text not in [str(a) for a in allowed]:
            problems.append(f"{name}: {text!r} not in AllowedValues")
        if "MinLength" in spec and len(text) < int(spec["MinLength"]):
            problems.append(f"{name}: shorter than MinLength {spec['MinLength']}")
        if "MaxLength" in spec and len(text) > int(spec["MaxLength"]):
            problems.append(f"{name}: longer than MaxLength {spec['MaxLength']}")
    return problems


# --------------------------------------------------------------------------- the Template phase's controls

# Characters a generated password must not hold: RDS refuses / @ " and space in a master password;
# quotes, backslash and backtick break the guide's shell scripts and my.cnf files.
EXCLUDED_CHARACTERS = frozenset(" /@\"'\\`")


@dataclass(frozen=True)
class ControlProblem:
    control: str  # which of the reviewer's controls
    logical_id: str  # the resource it is about ("" for the template as a whole)
    message: str


def database_secrets(template: dict[str, Any]) -> set[str]:
    """The secrets a SecretTargetAttachment ties to a database: their passwords are database passwords."""
    return {lid for att in resources(template, "AWS::SecretsManager::SecretTargetAttachment").values()
            for lid in references(properties(att).get("SecretId"))}


def exclusion_problems(template: dict[str, Any]) -> list[tuple[str, str]]:
    """(logical id, problem): every generated database password excludes EXCLUDED_CHARACTERS, and a
    rotation function that makes passwords (EXCLUDE_CHARACTERS) excludes at least what those secrets do."""
    problems = []
    generated: dict[str, set[str]] = {}
    for lid, res in resources(template, "AWS::SecretsManager::Secret").items():
        spec = properties(res).get("GenerateSecretString")
        if spec is None or lid not in database_secrets(template):
            continue
        excluded = spec.get("ExcludeCharacters")
        generated[lid] = set(excluded) if isinstance(excluded, str) else set()
        missing = set(EXCLUDED_CHARACTERS - generated[lid])
        if missing:
            problems.append((lid, f"GenerateSecretString.ExcludeCharacters lacks {''.join(sorted(missing))!r}"))
    wanted = set(EXCLUDED_CHARACTERS).union(*generated.values())
    for lid, res in resources(template, "AWS::Lambda::Function").items():
        variables = (properties(res).get("Environment") or {}).get("Variables") or {}
        excluded = variables.get("EXCLUDE_CHARACTERS")
        if excluded is None:
            continue
        missing = wanted - set(excluded if isinstance(excluded, str) else "")
        if missing:
            problems.append((lid, f"Environment EXCLUDE_CHARACTERS lacks {''.join(sorted(missing))!r}: its rotated "
                                  f"passwords may hold what the secret's first password could not"))
    return problems


def control_problems(template: dict[str, Any], taggable_types: set[str] | None = None) -> list[ControlProblem]:
    """The reviewer's controls over any workshop's template: every Secrets Manager grant names one of the
    template's own secrets, none on a wildcard; generated passwords exclude what breaks RDS and the scripts;
    rotation schedules; no public database; no secret in a task's plain environment; the project tag."""
    secrets = list(resources(template, "AWS::SecretsManager::Secret"))
    found = [ControlProblem("one secret per grant", s.logical_id, f"{s}: Resource is not a Ref to one of the "
                            f"template's secrets ({', '.join(secrets) or 'none'})")
             for s in secret_statements_not_scoped_to(template, *secrets)] if secrets else []
    found += [ControlProblem("least privilege", s.logical_id, f"{s}: grants Secrets Manager on a wildcard resource")
              for s in statements_granting_secretsmanager_on_wildcard(template)]
    found += [ControlProblem("excluded characters", lid, problem) for lid, problem in exclusion_problems(template)]
    found += [ControlProblem("rotation schedule", problem.split(":", 1)[0] if ":" in problem else "", problem)
              for problem in rotation_schedule_problems(template)]
    found += [ControlProblem("database not public", lid, "PubliclyAccessible is not literally false")
              for lid in publicly_accessible_db_instances(template)]
    found += [ControlProblem("no secret in a task's environment", problem.split("/", 1)[0].split(":", 1)[0], problem)
              for problem in task_definition_problems(template)]
    if taggable_types is not None:
        found += [ControlProblem("project tag", lid, "no Tag Project = Ref ProjectTag")
                  for lid in resources_missing_project_tag(template, taggable_types)]
    return found


def taggable_types(template: dict[str, Any], region: str = "us-east-1") -> set[str]:
    """The template's resource types that take Tags (cfn-lint's copy of CloudFormation's resource schemas)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    taggable = set()
    for resource_type in resource_types(template):
        try:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
        except Exception:  # noqa: BLE001 - an unknown type is cfn-lint's finding (E3006), not this control's
            continue
        if "Tags" in schema.get("properties", {}):
            taggable.add(resource_type)
    return taggable


def declared_lines(text: str) -> dict[str, int]:
    """Logical id -> the line it is declared on, under Resources: (block-style YAML, two-space indent)."""
    lines, inside = {}, False
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(r"^\S", line):
            inside = line.rstrip().startswith("Resources:")
            continue
        named = re.match(r"^  ([A-Za-z0-9]+):\s*(#.*)?$", line)
        if inside and named:
            lines[named.group(1)] = number
    return lines
