"""The security controls a reviewer applies to the deployed workshop, declared once: each rule's id
(Security Hub's control id, else the AWS Config rule or a name of the suite's own), what it requires,
the AWS page that defines it, the guide step it belongs to, the fixtures it needs and the function that
finds what breaks it (findings: sentences; none means compliant). The audit phase runs one
parametrized check per family, a rule's id its parameter id (`test_network_controls_are_met[EC2.13]`).

A finder is called with the fixtures its rule `needs`, by name; a rule whose fixtures change the account
says what (`changes`), as every deployed check does (suite/account_changes.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from suite.account_changes import ROTATES_SECRET, RUNS_TASKS
from suite.controls import deployed, exposure

SECURITY_HUB = "https://docs.aws.amazon.com/securityhub/latest/userguide"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str  # what compliance is; `{settings.x}` names a field of the stack's settings
    source: str  # the AWS page that defines the control
    family: str  # the check that runs it: secret, trail, network
    step: str  # the guide step (suite/report/guide_steps.py)
    needs: tuple[str, ...]  # fixtures the finder takes, by name
    finds: Callable[..., list[str]]
    changes: str | None = None  # what its fixtures change in the account (suite/account_changes.py); None: reads only

    def titled(self, workshop: Any) -> str:
        """The evidence's title: the id and what compliance is, the stack's settings filled in."""
        return f"{self.id}: {self.title.format(settings=workshop.stack.settings)}"


# --- the secret: its rotation, where it may appear, who may reach it

def _rotation_enabled(workshop: Any) -> list[str]:
    return deployed.rotation_findings(workshop.secrets_manager(), workshop.secret_arn)


def _last_rotation_succeeded(workshop: Any, first_rotation: Any) -> list[str]:
    return deployed.last_rotation_findings(workshop.secrets_manager(), workshop.secret_arn, require_rotated=True)


def _rotated_recently(workshop: Any) -> list[str]:
    return deployed.periodic_rotation_findings(workshop.secrets_manager(), workshop.secret_arn)


def _no_secret_in_task_environment(workshop: Any, task_definition: str) -> list[str]:
    known = [workshop.secret_document()["password"]]
    ecs = workshop.aws.client("ecs")
    return [finding for definition in (workshop.outputs["TaskDefinitionArn"], task_definition)
            for finding in deployed.task_definition_findings(ecs, definition, known)]


def _grants_name_the_secret(workshop: Any) -> list[str]:
    return deployed.secret_access_findings(workshop.aws.client("cloudformation"), workshop.aws.client("iam"),
                                           workshop.stack.settings.stack_name, workshop.secret_arn)


# --- the trail

def _trail_logging(workshop: Any) -> list[str]:
    return deployed.trail_logging_findings(workshop.aws.client("cloudtrail"), workshop.outputs["TrailName"])


def _trail_takes_read_events(workshop: Any, evidence: Any) -> list[str]:
    cloudtrail = workshop.aws.client("cloudtrail")
    trail = workshop.outputs["TrailName"]
    selectors = cloudtrail.get_event_selectors(TrailName=trail)
    evidence.text("GetEventSelectors", json.dumps({key: selectors.get(key) for key in
                                                   ("EventSelectors", "AdvancedEventSelectors")}, indent=1))
    return deployed.trail_read_events_findings(cloudtrail, trail)


# --- the network

def _database_not_public(workshop: Any) -> list[str]:
    return exposure.rds_2_findings(workshop.aws.client("rds"), workshop.outputs["DBInstanceId"])


def _ssh_closed_to_the_internet(workshop: Any) -> list[str]:
    groups = exposure.vpc_security_groups(workshop.aws.client("ec2"), workshop.outputs["VpcId"])
    return exposure.open_port_findings(groups, [22])


def _high_risk_ports_closed_to_the_internet(workshop: Any) -> list[str]:
    groups = exposure.vpc_security_groups(workshop.aws.client("ec2"), workshop.outputs["VpcId"])
    ports = sorted({*exposure.HIGH_RISK_PORTS, int(workshop.outputs["DBEndpointPort"])})
    return exposure.open_port_findings(groups, ports)


def _ssh_paths(workshop: Any, fargate_phase: Any, running_task: Any) -> list[str]:
    ec2 = workshop.aws.client("ec2")
    bastion_groups = exposure.instance_group_ids(ec2, workshop.outputs["BastionInstanceId"])
    task_groups = exposure.task_group_ids(ec2, fargate_phase.ecs, fargate_phase.cluster, running_task.arn)
    return exposure.ssh_path_findings(ec2, bastion_groups, task_groups)


def _session_manager_only(workshop: Any) -> list[str]:
    return exposure.session_manager_only_findings(workshop.aws.client("ec2"), workshop.outputs["BastionInstanceId"])


RULES = [
    Rule("SecretsManager.1", "automatic rotation enabled, at most every 90 days",
         f"{SECURITY_HUB}/secretsmanager-controls.html#secretsmanager-1", "secret", "Beyond the guide 5",
         ("workshop",), _rotation_enabled),
    Rule("SecretsManager.2", "the last rotation succeeded",
         f"{SECURITY_HUB}/secretsmanager-controls.html#secretsmanager-2", "secret", "Beyond the guide 5",
         ("workshop", "first_rotation"), _last_rotation_succeeded, ROTATES_SECRET),
    Rule("SecretsManager.4", "rotated (or created) within the last 90 days",
         f"{SECURITY_HUB}/secretsmanager-controls.html#secretsmanager-4", "secret", "Beyond the guide 5",
         ("workshop",), _rotated_recently),
    Rule("ECS.8", "no secret in a task definition's plain environment",
         f"{SECURITY_HUB}/ecs-controls.html#ecs-8", "secret", "Beyond the guide 5",
         ("workshop", "task_definition"), _no_secret_in_task_environment, RUNS_TASKS),
    Rule("least-privilege", "every role and policy of the stack reaches a secret only by naming it (the stack's "
                            "other secrets, a secret sharing the workshop secret's prefix, any other secret)",
         "https://docs.aws.amazon.com/secretsmanager/latest/userguide/best-practices.html", "secret",
         "Beyond the guide 1", ("workshop",), _grants_name_the_secret),
    Rule("cloudtrail-enabled", "the workshop's trail is logging",
         "https://docs.aws.amazon.com/config/latest/developerguide/cloudtrail-enabled.html", "trail", "Audit 3",
         ("workshop",), _trail_logging),
    Rule("trail-read-events", "the trail's event selectors take management read events (GetSecretValue), as "
                              "CloudTrail.1 asks",
         f"{SECURITY_HUB}/cloudtrail-controls.html#cloudtrail-1", "trail", "Audit 3",
         ("workshop", "evidence"), _trail_takes_read_events),
    Rule("RDS.2", "the DB instance prohibits public access",
         f"{SECURITY_HUB}/rds-controls.html#rds-2", "network", "Beyond the guide 6",
         ("workshop",), _database_not_public),
    Rule("EC2.13", "no security group admits 0.0.0.0/0 or ::/0 to port 22",
         f"{SECURITY_HUB}/ec2-controls.html#ec2-13", "network", "Beyond the guide 6",
         ("workshop",), _ssh_closed_to_the_internet),
    Rule("EC2.19", "no security group admits 0.0.0.0/0 or ::/0 to a high-risk port (the database's included)",
         f"{SECURITY_HUB}/ec2-controls.html#ec2-19", "network", "Beyond the guide 6",
         ("workshop",), _high_risk_ports_closed_to_the_internet),
    Rule("session-manager-only", "the bastion admits no SSH and carries no key pair: it is reached through Session "
                                 "Manager only, as attendees reach it",
         "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager.html", "network",
         "Beyond the guide 6", ("workshop",), _session_manager_only),
    Rule("ssh-paths", "a task admits SSH only from the bastion's security group",
         "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-rules-reference.html", "network",
         "Beyond the guide 6", ("workshop", "fargate_phase", "running_task"), _ssh_paths, RUNS_TASKS),
]
BY_ID = {rule.id: rule for rule in RULES}


def family(name: str) -> list[Rule]:
    rules = [rule for rule in RULES if rule.family == name]
    if not rules:
        raise LookupError(f"no rule of the family {name!r}; families: {sorted({rule.family for rule in RULES})}")
    return rules
