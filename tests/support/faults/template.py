"""The Template phase's faults: the workshop's files read before anything is deployed, one tool each."""
from __future__ import annotations

from tests.support.faults.audit import AUDIT_FAULTS
from tests.support.faults.base import Fault, append_to_rotation_function, edit_docker_file, edit_template
from tests.support.faults.fargate import FARGATE_FAULTS
from tests.support.faults.rds import RDS_FAULTS

CFN_LINT_CHECK = "test_cfnlint_finds_no_error_in_the_template"
CHECKOV_CHECK = "test_checkov_finds_nothing_the_template_does_not_skip_with_a_reason"
CONTROLS_CHECK = "test_template_meets_the_reviewers_controls"
SHELLCHECK_CHECK = "test_shellcheck_finds_no_error_in_the_shell_scripts"
HADOLINT_CHECK = "test_hadolint_finds_no_error_in_the_dockerfile"
PACKAGE_CHECK = "test_rotation_function_package_runs_on_its_declared_runtime"


def _task_with_too_little_cpu_for_its_memory(template: dict) -> None:
    template["Resources"]["TaskDefinition"]["Properties"]["Cpu"] = "256"  # Memory stays 4096: Fargate refuses it


def _database_storage_not_encrypted(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["StorageEncrypted"] = False


TEMPLATE_FAULTS = [
    Fault("task-cpu-memory-not-a-fargate-size",
          "the task definition asks 256 CPU units with 4096 MiB, a combination Fargate refuses (cfn-lint E3047)",
          edit_template(_task_with_too_little_cpu_for_its_memory), (CFN_LINT_CHECK,)),
    Fault("database-storage-not-encrypted",
          "the database's storage is not encrypted (checkov CKV_AWS_16)",
          edit_template(_database_storage_not_encrypted), (CHECKOV_CHECK,)),
    Fault("dockerbuild-unquoted-arguments",
          "dockerbuild.sh passes its extra arguments unquoted, re-split by the shell (shellcheck SC2068)",
          edit_docker_file("dockerbuild.sh", 'docker build --pull --tag "${image}" "${here}"',
                           'docker build --pull --tag "${image}" "${here}" ${@:2}'),
          (SHELLCHECK_CHECK,)),
    Fault("dockerfile-adds-instead-of-copying",
          "the Dockerfile ADDs a local file where COPY is meant (hadolint DL3020)",
          edit_docker_file("Dockerfile", "COPY image-setup.sh", "ADD image-setup.sh"),
          (HADOLINT_CHECK,)),
    Fault("rotation-function-imports-an-unbundled-module",
          "the rotation function imports requests, which neither its package nor its runtime has: every rotation "
          "would fail with Runtime.ImportModuleError",
          append_to_rotation_function('''
              def notify(message):
                  import requests
                  requests.post("https://hooks.example.com/rotation", json={"text": message}, timeout=5)
          '''),
          (PACKAGE_CHECK,)),
    Fault("rotation-password-may-hold-a-quote",
          "the rotation function's EXCLUDE_CHARACTERS forgets the quotes: a rotated password may break the scripts",
          edit_template(lambda template: template["Resources"]["RotationFunction"]["Properties"]["Environment"]
                        ["Variables"].update(EXCLUDE_CHARACTERS=" /@\\`")),
          (CONTROLS_CHECK,)),
]
# Faults of the deployed phases the Template phase catches too, before anything is deployed.
CAUGHT_BEFORE_DEPLOYING = {
    "reader-policy-on-secret-name-prefix": (CONTROLS_CHECK,),
    "rotation-once-a-year": (CONTROLS_CHECK,),
    "password-in-task-environment": (CONTROLS_CHECK,),
    "database-publicly-accessible": (CONTROLS_CHECK, CHECKOV_CHECK),
    # cfn-lint E2531 (creation disabled: AWS refuses it), checkov CKV_AWS_363 (a deprecated runtime)
    "rotation-function-on-a-blocked-runtime": (CFN_LINT_CHECK, CHECKOV_CHECK),
}
TEMPLATE_FAULTS += [Fault(fault.name, fault.breaks, fault.apply, CAUGHT_BEFORE_DEPLOYING[fault.name])
                    for fault in [*RDS_FAULTS, *FARGATE_FAULTS, *AUDIT_FAULTS] if fault.name in CAUGHT_BEFORE_DEPLOYING]
