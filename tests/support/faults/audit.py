"""The Audit phase's faults: the trail, the grants, the task definition, the rotation's principals."""
from __future__ import annotations

from suite.attendee.bastion import new_key_pair
from tests.support.faults.base import Fault, append_to_rotation_function, edit_docker_file, edit_template
from tests.support.faults.rds import RDS_FAULTS, SECRET_NAME_PREFIX, _rotation_role_without_own_log_group


def _rotation_once_a_year(template: dict) -> None:
    template["Resources"]["RotationSchedule"]["Properties"]["RotationRules"] = {"AutomaticallyAfterDays": 365}


def _trail_not_logging(template: dict) -> None:
    template["Resources"]["Trail"]["Properties"]["IsLogging"] = False


def _task_role_reads_every_secret(template: dict) -> None:
    for policy in template["Resources"]["TaskRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            statement["Resource"] = "*"


def _task_role_on_secret_name_prefix(template: dict) -> None:
    for policy in template["Resources"]["TaskRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            statement["Resource"] = SECRET_NAME_PREFIX


def _password_in_task_environment(template: dict) -> None:
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["Environment"].append(
        {"Name": "TASKDEF_DBPASSWORD",
         "Value": {"Fn::Sub": "{{resolve:secretsmanager:${DBSecret}:SecretString:password}}"}})


def _task_without_db_secret(template: dict) -> None:
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["Secrets"] = [entry for entry in container["Secrets"] if entry["Name"] != "TASKDEF_SECRET"]


def _database_publicly_accessible(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["PubliclyAccessible"] = True


def _ssh_open_to_the_world(template: dict) -> None:
    rule = template["Resources"]["BastionSSHFromAdmin"]
    rule.pop("Condition", None)
    rule["Properties"]["CidrIp"] = "0.0.0.0/0"


def _bastion_with_a_key_and_an_admin_rule(template: dict) -> None:
    """What a deployment that brings its own SSH route adds: a key pair and SSH from one address."""
    template["Parameters"]["BastionPublicKey"]["Default"] = new_key_pair()[1]
    template["Parameters"]["AdminCidr"]["Default"] = "203.0.113.7/32"


def _database_port_open_to_the_world(template: dict) -> None:
    template["Resources"]["DBSG"]["Properties"]["SecurityGroupIngress"][0]["CidrIp"] = "0.0.0.0/0"


def _task_ssh_from_the_whole_vpc(template: dict) -> None:
    rules = template["Resources"]["TaskSG"]["Properties"]["SecurityGroupIngress"]
    rules.append({"Description": "SSH from the VPC", "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                  "CidrIp": "10.200.0.0/16"})


def _container_password_as_parameter(template: dict) -> None:
    template["Parameters"]["ContainerUserPassword"] = {"Type": "String", "Default": "Smdemo-Container-Passw0rd-2026"}
    properties = template["Resources"]["ContainerUserSecret"]["Properties"]
    del properties["GenerateSecretString"]
    properties["SecretString"] = {"Fn::Sub": '{"username": "ec2-user", "password": "${ContainerUserPassword}"}'}


def _trail_writes_only(template: dict) -> None:
    template["Resources"]["Trail"]["Properties"]["EventSelectors"] = [
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]


def _trail_bucket_retained(template: dict) -> None:
    template["Resources"]["TrailBucket"]["DeletionPolicy"] = "Retain"


def _database_deletion_protected(template: dict) -> None:
    template["Resources"]["DBInstance"]["Properties"]["DeletionProtection"] = True


# Not a check's fault: the teardown's. The run must fail because the stack leaves the bucket behind.
TEARDOWN_FAULT = Fault("trail-bucket-retained",
                       "the trail bucket has DeletionPolicy Retain, so deleting the stack leaves it behind",
                       edit_template(_trail_bucket_retained), ())
# The teardown's too: RDS refuses to delete the database, so the stack's deletion ends DELETE_FAILED.
DELETION_PROTECTED_FAULT = Fault("database-deletion-protected",
                                 "the DB instance has DeletionProtection true, so RDS refuses to delete it and the "
                                 "stack's deletion fails (in AWS the database stays, billed)",
                                 edit_template(_database_deletion_protected), ())


# Valid variants of the workshop AWS accepts: each must stay READY offline.
AUDIT_FAULTS = [
    Fault("newway-traces-its-commands",
          "mysql.newway.sh runs with `set -x`, so its trace prints the password where it runs (and Run Command keeps "
          "it)",
          edit_docker_file("mysql.newway.sh", "set -euo pipefail", "set -euxo pipefail"),
          ("test_no_secret_value_in_the_bastions_run_command_history",)),
    Fault("rotation-once-a-year",
          "the rotation schedule rotates every 365 days",
          edit_template(_rotation_once_a_year),
          ("test_secret_controls_are_met[SecretsManager.1]",)),
    Fault("trail-not-logging",
          "the trail is created with IsLogging false",
          edit_template(_trail_not_logging),
          ("test_trail_controls_are_met[cloudtrail-enabled]",)),
    Fault("task-role-reads-every-secret",
          "the task role's policy reads Resource '*'",
          edit_template(_task_role_reads_every_secret),
          ("test_secret_controls_are_met[least-privilege]",)),
    Fault("task-role-on-secret-name-prefix",
          "the task role's policy names `...:secret:<secret name>*`, which also matches the stack's container "
          "user secret and any secret named like the workshop's",
          edit_template(_task_role_on_secret_name_prefix),
          ("test_secret_controls_are_met[least-privilege]",)),
    Fault("password-in-task-environment",
          "the task definition passes the password in its plain environment",
          edit_template(_password_in_task_environment),
          ("test_secret_controls_are_met[ECS.8]", "test_no_event_contains_a_secret_value")),
    Fault("execution-role-never-reads-secret",
          "the task definition has no TASKDEF_SECRET, so the execution role never reads the secret",
          edit_template(_task_without_db_secret),
          ("test_execution_role_read_the_secret_when_the_task_started",)),
    Fault("rotation-never-moves-labels",
          "the rotation function never calls UpdateSecretVersionStage",
          next(fault.apply for fault in RDS_FAULTS if fault.name == "finish-leaves-current"),
          ("test_rotation_is_recorded_with_its_principals", "test_secret_controls_are_met[SecretsManager.2]")),
    Fault("database-publicly-accessible",
          "the DB instance is publicly accessible",
          edit_template(_database_publicly_accessible),
          ("test_network_controls_are_met[RDS.2]",)),
    Fault("ssh-open-to-the-world",
          "the bastion's security group admits 0.0.0.0/0 to port 22",
          edit_template(_ssh_open_to_the_world),
          ("test_network_controls_are_met[EC2.13]",
           "test_network_controls_are_met[EC2.19]",
           "test_network_controls_are_met[session-manager-only]")),
    Fault("bastion-with-a-key-and-an-admin-rule",
          "the stack gives the bastion a key pair and admits SSH to it from one address (not the workshop as "
          "handed out: attendees use Session Manager)",
          edit_template(_bastion_with_a_key_and_an_admin_rule),
          ("test_network_controls_are_met[session-manager-only]",)),
    Fault("database-port-open-to-the-world",
          "the database's security group admits 0.0.0.0/0 to 3306",
          edit_template(_database_port_open_to_the_world),
          ("test_network_controls_are_met[EC2.19]",)),
    Fault("rotation-function-logs-the-secret",
          "the rotation function logs the new secret value it made",
          append_to_rotation_function('''
              _correct_create = create_secret
              def create_secret(client, arn, token):
                  _correct_create(client, arn, token)
                  made = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
                  logger.info("createSecret: the new value is %s", made["SecretString"])
          '''),
          ("test_no_secret_value_in_the_function_or_task_logs",)),
    Fault("container-password-as-parameter",
          "the container user's password is a template parameter without NoEcho",
          edit_template(_container_password_as_parameter),
          ("test_no_secret_value_in_the_stack_parameters_outputs_or_events",)),
    Fault("trail-writes-only",
          "the trail's event selectors leave out read events, so GetSecretValue never reaches its bucket",
          edit_template(_trail_writes_only),
          ("test_trail_controls_are_met[trail-read-events]", "test_trail_bucket_holds_the_get_secret_value_records")),
    Fault("rotation-role-cannot-write-logs",
          "the rotation function's role has no logs:CreateLogStream/PutLogEvents: Lambda writes nothing of the "
          "function's output, so nothing shows that no secret value is logged",
          edit_template(_rotation_role_without_own_log_group),
          ("test_no_secret_value_in_the_function_or_task_logs",),
          waits=30),  # the function's log never comes
    Fault("task-ssh-from-the-whole-vpc",
          "the tasks' security group admits SSH from the whole VPC, not only from the bastion",
          edit_template(_task_ssh_from_the_whole_vpc),
          ("test_network_controls_are_met[ssh-paths]",)),
]
