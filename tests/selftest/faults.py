"""Ways to break the workshop, each the way one check guards against.

A fault edits a copy of the workshop (`infra/`): the template through YAML, the rotation
function by appending overrides of its step functions (the handler looks them up at call
time, so the last definition wins).
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml


@dataclass(frozen=True)
class Fault:
    name: str
    breaks: str  # what a workshop author would have got wrong
    apply: Callable[[Path], None]
    caught_by: tuple[str, ...]  # the checks that must then not pass


def edit_template(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(workshop: Path) -> None:
        path = workshop / "infra" / "template.yaml"
        template = yaml.safe_load(path.read_text())
        edit(template)
        path.write_text(yaml.safe_dump(template, sort_keys=False))
    return apply


def append_to_rotation_function(code: str) -> Callable[[Path], None]:
    def apply(workshop: Path) -> None:
        path = workshop / "infra" / "rotation" / "rotation_function.py"
        path.write_text(path.read_text() + "\n\n# --- injected fault ---\n" + textwrap.dedent(code))
    return apply


def _password_not_from_secret(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["MasterUserPassword"] = "NotTheSecretsPassw0rd"


def _secret_not_attached(template: dict) -> None:
    resources = template["Resources"]
    del resources["SecretAttachment"]
    schedule = resources["RotationSchedule"]
    depends = schedule.get("DependsOn", [])
    schedule["DependsOn"] = [d for d in ([depends] if isinstance(depends, str) else depends) if d != "SecretAttachment"]


def _reader_policy_on_every_secret(template: dict) -> None:
    for statement in template["Resources"]["SecretReadOnlyPolicy"]["Properties"]["PolicyDocument"]["Statement"]:
        statement["Resource"] = "*"


FAULTS = [
    Fault("master-password-not-from-secret",
          "the DB's master password is a literal, not the secret's (no dynamic reference)",
          edit_template(_password_not_from_secret),
          ("test_hardcoded_credentials_read_bookinfo_before_rotation",)),
    Fault("secret-not-attached-to-db",
          "no SecretTargetAttachment: the secret lacks the DB's host and port",
          edit_template(_secret_not_attached),
          ("test_credentials_from_secret_read_bookinfo",)),
    Fault("finish-leaves-current",
          "finishSecret never moves AWSCURRENT",
          append_to_rotation_function('''
              def finish_secret(client, arn, token):
                  logger.info("finishSecret: (fault) left AWSCURRENT in place")
          '''),
          ("test_rotation_completes",)),
    Fault("finish-drops-previous",
          "finishSecret also strips AWSPREVIOUS from the old version",
          append_to_rotation_function('''
              _correct_finish = finish_secret
              def finish_secret(client, arn, token):
                  stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
                  old = next(v for v, s in stages.items() if "AWSCURRENT" in s)
                  _correct_finish(client, arn, token)
                  if old != token:
                      client.update_secret_version_stage(SecretId=arn, VersionStage="AWSPREVIOUS",
                                                         RemoveFromVersionId=old)
          '''),
          ("test_new_version_is_current_and_old_version_is_previous",)),
    Fault("create-keeps-password",
          "createSecret copies the current password instead of making a new one",
          append_to_rotation_function('''
              def create_secret(client, arn, token):
                  current = get_secret_dict(client, arn, "AWSCURRENT")
                  client.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                          SecretString=json.dumps(current), VersionStages=["AWSPENDING"])
          '''),
          ("test_hardcoded_credentials_fail_after_rotation",)),
    Fault("set-and-test-do-nothing",
          "setSecret never changes the DB password and testSecret never tries it",
          append_to_rotation_function('''
              def set_secret(client, arn, token):
                  logger.info("setSecret: (fault) did nothing")
              def test_secret(client, arn, token):
                  logger.info("testSecret: (fault) did nothing")
          '''),
          ("test_credentials_from_secret_still_read_bookinfo",)),
    Fault("reader-policy-on-every-secret",
          "the application's read policy names Resource '*' instead of the secret's ARN",
          edit_template(_reader_policy_on_every_secret),
          ("test_scoped_policy_reads_this_secret_and_no_other",)),
    Fault("rotation-ignores-db-errors",
          "setSecret and testSecret swallow connection failures, so finishSecret runs anyway",
          append_to_rotation_function('''
              _correct_set, _correct_test = set_secret, test_secret
              def set_secret(client, arn, token):
                  try:
                      _correct_set(client, arn, token)
                  except Exception:
                      logger.info("setSecret: (fault) ignored a failure")
              def test_secret(client, arn, token):
                  try:
                      _correct_test(client, arn, token)
                  except Exception:
                      logger.info("testSecret: (fault) ignored a failure")
          '''),
          ("test_rotation_without_database_leaves_current_in_place",)),
]
