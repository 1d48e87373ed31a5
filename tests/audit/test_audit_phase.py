"""The audit phase (seed 004, sections C and D of the reference): CloudTrail shows who read the
secret, who rotated it and who was refused, no event holds a secret value, and the set-up
meets the controls a security reviewer applies.

The same checks run offline and live; only the fixtures know which.
"""
from __future__ import annotations

import json
import time

import pytest

from suite.account_changes import CREATES_IAM_USER, ROTATES_SECRET, RUNS_TASKS
from suite.attendee import mysql_scripts
from suite.controls import rules
from suite.cloudtrail import about_secret, await_delivered
from suite.redaction import REGISTRY

EVENT_HEADERS = ["time", "event", "principal", "secret", "error"]
# Where a secret value could be written into a request: the services the workshop uses.
EVENT_SOURCES = ("secretsmanager", "ecs", "lambda", "rds", "cloudformation", "iam", "ec2", "sts", "logs")


def role_session_prefix(workshop, output: str) -> str:
    """arn:aws:sts::ACCOUNT:assumed-role/ROLE/ : how CloudTrail names a role's sessions."""
    role_arn = workshop.outputs[output]
    partition, account = role_arn.split(":")[1], role_arn.split(":")[4]
    return f"arn:{partition}:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/"


def as_rows(events) -> list[list[str]]:
    return [[f"{e.time:%H:%M:%S}", e.event_name, e.principal_arn, (e.secret or "").rsplit(":", 1)[-1],
             e.error_code or ""] for e in events[:20]]


# GetSecretValue by the identity the RDS phase used. On a stack given with --stack, its reads since the stack was
# made count too: an earlier verification's are in the event history at once, where this run's own take minutes.
@pytest.mark.read_only
@pytest.mark.guide_step("Audit 1")
def test_operator_reads_are_recorded(audit, operator_arn, evidence):
    since = audit.since_the_stack_was_made
    events = audit.events("GetSecretValue", lambda e: e.principal_arn == operator_arn and not e.error_code,
                          since=since)
    evidence.table("GetSecretValue by the operator", EVENT_HEADERS, as_rows(events))
    evidence.expect(f"GetSecretValue on the secret by {operator_arn} since "
                    f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(since))} UTC", f"{len(events)} such events")
    assert events


# The task execution role read the secret when the task started
@pytest.mark.changes_account(RUNS_TASKS)
@pytest.mark.guide_step("Audit 1")
def test_execution_role_read_the_secret_when_the_task_started(audit, workshop, running_task, evidence):
    prefix = role_session_prefix(workshop, "TaskExecutionRoleArn")
    events = audit.events("GetSecretValue", lambda e: e.principal_arn.startswith(prefix) and not e.error_code)
    evidence.table("GetSecretValue by the task execution role", EVENT_HEADERS, as_rows(events))
    evidence.expect(f"GetSecretValue by {prefix}... before the task ran", f"{len(events)} such events")
    assert events, f"no GetSecretValue by {prefix}... on the secret"
    assert min(e.time.timestamp() for e in events) <= running_task.started_at + 1


# The rotation: the caller asked, the rotation function's role did the work
@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("Audit 2")
def test_rotation_is_recorded_with_its_principals(audit, workshop, operator_arn, first_rotation, evidence):
    function_role = role_session_prefix(workshop, "RotationFunctionRoleArn")
    asked = audit.events("RotateSecret", lambda e: e.principal_arn == operator_arn)
    stored = audit.events("PutSecretValue", lambda e: e.principal_arn.startswith(function_role))
    moved = audit.events("UpdateSecretVersionStage", lambda e: e.principal_arn.startswith(function_role))
    evidence.table("The rotation in CloudTrail", EVENT_HEADERS, as_rows(asked + stored + moved))
    evidence.expect("RotateSecret by the caller; PutSecretValue and UpdateSecretVersionStage by the rotation function",
                    f"{len(asked)} RotateSecret, {len(stored)} PutSecretValue, {len(moved)} UpdateSecretVersionStage")
    assert asked and stored and moved


# The refused read, with the principal that was refused
@pytest.mark.changes_account(CREATES_IAM_USER)
@pytest.mark.guide_step("Audit 1")
def test_denied_read_is_recorded(audit, denied_read, evidence):
    assert denied_read.error_code == "AccessDeniedException", f"the read was {denied_read.error_code}"
    events = audit.events("GetSecretValue", lambda e: e.principal_arn == denied_read.principal_arn)
    evidence.table("GetSecretValue by an identity no policy allows", EVENT_HEADERS, as_rows(events))
    evidence.expect(f"a denied GetSecretValue by {denied_read.principal_arn}",
                    ", ".join(e.error_code or "allowed" for e in events) or "no event")
    assert events and all(e.error_code in ("AccessDenied", "AccessDeniedException") for e in events)


# No event anywhere holds a secret value
@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("Beyond the guide 4")
def test_no_event_contains_a_secret_value(audit, workshop, first_rotation, running_task, evidence):
    workshop.known_secret_values()  # every value the run has seen is registered
    scanned, leaking = 0, []
    for source in EVENT_SOURCES:
        for event in audit.events_from(source):
            scanned += 1
            text = json.dumps(event.raw)
            if REGISTRY.mask(text) != text:
                leaking.append(event)
    evidence.table("Events holding a secret value", EVENT_HEADERS, as_rows(leaking))
    evidence.expect("no CloudTrail event holds a secret value", f"{len(leaking)} of {scanned} events do")
    assert scanned, "CloudTrail returned no events for the run"
    assert not leaking, f"{len(leaking)} events hold a secret value: {[str(e) for e in leaking[:5]]}"


# What a security reviewer checks (AWS Config / Security Hub): the rules of suite/controls/rules.py,
# one check per family, each rule under its own id and guide step
def rules_of(family: str) -> list:
    return [pytest.param(rule, id=rule.id, marks=[
        pytest.mark.guide_step(rule.step),
        pytest.mark.changes_account(rule.changes) if rule.changes else pytest.mark.read_only])
        for rule in rules.family(family)]


def undeclared_changes(rule: rules.Rule, request: pytest.FixtureRequest) -> list[str]:
    """What the fixtures a read-only rule needs (however indirectly) change in the account: they are asked
    for by name, out of sight of the collection's classification (suite/account_changes.py)."""
    if rule.changes:
        return []
    found, seen, names = [], set(), list(rule.needs)
    while names:
        name = names.pop()
        if name in seen:
            continue
        seen.add(name)
        for definition in request._fixturemanager.getfixturedefs(name, request.node) or ():
            what = getattr(definition.func, "changes_account", None)
            if isinstance(what, str):
                found.append(f"{name}: {what}")
            names.extend(definition.argnames)
    return found


def control_is_met(rule: rules.Rule, workshop, request: pytest.FixtureRequest, evidence) -> None:
    """The rule's findings (from the fixtures it needs) as evidence; none means compliant."""
    undeclared = undeclared_changes(rule, request)
    assert not undeclared, f"suite/controls/rules.py: {rule.id} does not say what its fixtures change: {undeclared}"
    needed = {name: request.getfixturevalue(name) for name in rule.needs}
    findings = rule.finds(**needed)
    title = rule.titled(workshop)
    evidence.text("The control", f"{title}\nas defined at {rule.source}")
    evidence.table(title, ["finding"], [[finding] for finding in findings] or [["compliant"]])
    evidence.expect(f"{title}: compliant", "; ".join(findings) or "compliant")
    assert not findings, "; ".join(findings)


@pytest.mark.parametrize("rule", rules_of("secret"))
def test_secret_controls_are_met(rule, workshop, request, evidence):  # workshop: the mode's parameter
    control_is_met(rule, workshop, request, evidence)


@pytest.mark.parametrize("rule", rules_of("trail"))
def test_trail_controls_are_met(rule, workshop, request, evidence):  # workshop: the mode's parameter
    control_is_met(rule, workshop, request, evidence)


@pytest.mark.parametrize("rule", rules_of("network"))
def test_network_controls_are_met(rule, workshop, request, evidence):  # workshop: the mode's parameter
    control_is_met(rule, workshop, request, evidence)


@pytest.mark.read_only
@pytest.mark.guide_step("Audit 3")
def test_trail_bucket_holds_the_get_secret_value_records(workshop, evidence):
    timing = workshop.aws.timing
    about = about_secret(workshop.secret_arn)
    records = await_delivered(workshop.aws.client("s3"), workshop.outputs["TrailBucketName"],
                              lambda r: r.event_name == "GetSecretValue" and about(r),
                              timeout=timing.events_timeout, interval=timing.events_interval)
    evidence.table("GetSecretValue records in the trail's log files", EVENT_HEADERS, as_rows(records))
    evidence.expect("the trail's bucket holds GetSecretValue records on the secret", f"{len(records)} records")
    assert records


def secret_findings(where: str, texts) -> list[str]:
    return [f"{where}: {REGISTRY.mask(text)[:160]}" for text in texts if REGISTRY.mask(text) != text]


@pytest.mark.changes_account(ROTATES_SECRET)
@pytest.mark.guide_step("Beyond the guide 4")
def test_no_secret_value_in_the_function_or_task_logs(workshop, first_rotation, running_task, evidence):
    versions = workshop.known_secret_values()
    logs = workshop.aws.client("logs")
    groups = [f"/aws/lambda/{workshop.outputs['RotationFunctionName']}", workshop.outputs["TaskLogGroupName"]]
    timing = workshop.aws.timing

    def read(group: str) -> list[str]:
        return [event["message"] for page in logs.get_paginator("filter_log_events").paginate(logGroupName=group)
                for event in page["events"]]
    messages = {group: read(group) for group in groups}
    deadline = time.monotonic() + timing.host_keys_timeout  # as long as a task's first lines may take to arrive
    while not all(messages.values()) and time.monotonic() < deadline:
        time.sleep(timing.events_interval)
        messages = {group: read(group) for group in groups}
    scanned = {group: len(lines) for group, lines in messages.items()}
    findings = [finding for group, lines in messages.items()
                for finding in secret_findings(f"log group {group}", lines)]
    evidence.table("Log events holding a secret value (masked)", ["finding"], [[f] for f in findings] or [["none"]])
    evidence.expect(f"none of the {versions} secret versions the stack holds appears in {', '.join(groups)}",
                    f"{len(findings)} of {sum(scanned.values())} log events hold one")
    # Each writes with its role's permissions: a group with nothing in it proves nothing about its logs.
    assert all(scanned.values()), f"no log events to scan in {[g for g, n in scanned.items() if not n]}"
    assert not findings, "; ".join(findings[:5])


@pytest.mark.read_only
@pytest.mark.guide_step("Beyond the guide 4")
def test_no_secret_value_in_the_bastions_run_command_history(workshop, bastion_shell, evidence):
    """Systems Manager keeps each command's text and output: the guide's commands typed on the bastion
    (mysql.newway.sh among them, run here once more) leave no secret value there."""
    mysql_scripts.select_one(bastion_shell, mysql_scripts.newway(workshop.aws.secret_name))
    versions = workshop.known_secret_values()
    ssm, instance = workshop.aws.client("ssm"), workshop.outputs["BastionInstanceId"]
    commands = [command for page in ssm.get_paginator("list_commands").paginate(InstanceId=instance)
                for command in page["Commands"]]
    texts = []
    for command in commands:
        texts.append(("command", "\n".join(command.get("Parameters", {}).get("commands", []))))
        invocation = ssm.get_command_invocation(CommandId=command["CommandId"], InstanceId=instance)
        texts += [("output", invocation.get("StandardOutputContent", "")),
                  ("error output", invocation.get("StandardErrorContent", ""))]
    findings = [finding for kind, text in texts for finding in secret_findings(f"Run Command {kind}", [text])]
    evidence.table("Run Command texts and outputs holding a secret value (masked)", ["finding"],
                   [[f] for f in findings] or [["none"]])
    evidence.expect(f"none of the {versions} secret versions appears in the {len(commands)} commands sent to the "
                    f"bastion, their text or their output", f"{len(findings)} do")
    assert commands, "no Run Command history on the bastion: the guide's commands did not run there"
    assert not findings, "; ".join(findings[:5])


@pytest.mark.read_only
@pytest.mark.guide_step("Beyond the guide 4")
def test_no_secret_value_in_the_stack_parameters_outputs_or_events(workshop, evidence):
    versions = workshop.known_secret_values()
    cloudformation = workshop.aws.client("cloudformation")
    name = workshop.stack.settings.stack_name
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    events = [event for page in cloudformation.get_paginator("describe_stack_events").paginate(StackName=name)
              for event in page["StackEvents"]]
    findings = (secret_findings("parameter", [f"{p['ParameterKey']}={p.get('ParameterValue', '')}"
                                              for p in stack.get("Parameters", [])])
                + secret_findings("output", [f"{o['OutputKey']}={o.get('OutputValue', '')}"
                                             for o in stack.get("Outputs", [])])
                + secret_findings("event", [json.dumps(event, default=str) for event in events]))
    evidence.table("Stack fields holding a secret value (masked)", ["finding"], [[f] for f in findings] or [["none"]])
    evidence.expect(f"none of the {versions} secret versions appears in the stack's parameters, outputs or "
                    "events", f"{len(findings)} do")
    assert not findings, "; ".join(findings[:5])
