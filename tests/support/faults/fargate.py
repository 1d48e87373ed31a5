"""The Fargate phase's faults: the container's scripts and the task definition."""
from __future__ import annotations

from typing import Callable
from tests.support.faults.base import Fault, edit_docker_file, edit_template
from tests.support.faults.rds import (RDS_FAULTS, SECRET_KEY_NOT_FOR_THE_TASK_EXECUTION_ROLE, _bastion_role_without,
                                      _bastion_user_data_replacing, _bastion_user_data_without, _role_trusting)


ORIGINAL_QUOTING = """env | grep "^TASKDEF_" | awk -F= '{printf "export %s=%c%s%c\\\\n", $1, 39, $2, 39 }' > "${tmp}"
"""
QUOTING_LOOP = """while IFS= read -r name; do
  [[ "${name}" =~ ^TASKDEF_[A-Za-z0-9_]+$ ]] || continue
  printf 'export %s=%s\\n' "${name}" "$(quote "${!name}")" >> "${tmp}"
done < <(compgen -e)
"""


def _task_secret_from(value_from: object) -> Callable[[dict], None]:
    def edit(template: dict) -> None:
        container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
        for entry in container["Secrets"]:
            if entry["Name"] == "TASKDEF_SECRET":
                entry["ValueFrom"] = value_from
    return edit


def _no_route_out(template: dict) -> None:
    del template["Resources"]["DefaultRoute"]


def _bastion_not_admitted_to_the_task(template: dict) -> None:
    # The tasks' group admits SSH from its own members only: the bastion's connection goes unanswered.
    template["Resources"]["TaskSG"]["Properties"]["SecurityGroupIngress"][0]["SourceSecurityGroupId"] = {
        "Fn::GetAtt": ["VPC", "DefaultSecurityGroup"]}


def _execution_role_without_db_secret(template: dict) -> None:
    for policy in template["Resources"]["TaskExecutionRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "ResolveTaskSecrets":
                statement["Resource"] = [{"Ref": "ContainerUserSecret"}]


def _fargate_size_not_offered(template: dict) -> None:
    properties = template["Resources"]["TaskDefinition"]["Properties"]
    properties["Cpu"], properties["Memory"] = "256", "4096"  # Fargate's 256 CPU takes 512-2048 MiB


def _execution_role_log_actions(*actions: str) -> Callable[[dict], None]:
    """The execution role's log statement allows only `actions` (none: the statement is gone)."""
    def edit(template: dict) -> None:
        for policy in template["Resources"]["TaskExecutionRole"]["Properties"]["Policies"]:
            statements = policy["PolicyDocument"]["Statement"]
            [logs] = [statement for statement in statements if statement.get("Sid") == "WriteTaskLogs"]
            if actions:
                logs["Action"] = list(actions)
            else:
                statements.remove(logs)
    return edit


def _task_logs_to_a_group_nobody_made(template: dict) -> None:
    # The execution role writes logs anywhere, as AmazonECSTaskExecutionRolePolicy does: only the group is missing.
    for policy in template["Resources"]["TaskExecutionRole"]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement.get("Sid") == "WriteTaskLogs":
                statement["Resource"] = "*"
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["LogConfiguration"]["Options"]["awslogs-group"] = {"Fn::Sub": "/ecs/${NamePrefix}-task"}


def _task_log_stream_prefix_with_a_colon(template: dict) -> None:
    # The stream is PREFIX/CONTAINER/TASK_ID: CreateLogStream's logStreamName pattern is [^:*]* (botocore's
    # model); cfn-lint cannot see it (LogConfiguration Options is a free map).
    container = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] = "smdemo:task"


FARGATE_FAULTS = [
    Fault("ecs-sh-unquoted",
          "startprocesses.sh writes values between bare single quotes, as the original did (its bug #1)",
          edit_docker_file("startprocesses.sh", QUOTING_LOOP, ORIGINAL_QUOTING),
          ("test_metacharacter_secret_arrives_byte_for_byte",)),
    Fault("task-secret-is-another-secret",
          "the task definition's TASKDEF_SECRET points at another secret",
          edit_template(_task_secret_from({"Ref": "ContainerUserSecret"})),
          ("test_task_definition_revision_names_the_secret", "test_login_shell_has_taskdef_secret",
           "test_taskdef_secret_seen_over_the_bastions_ssh_is_the_secret")),
    Fault("task-secret-is-one-key",
          "the task definition's TASKDEF_SECRET names only the password key, not the whole secret",
          edit_template(_task_secret_from({"Fn::Sub": "${DBSecret}:password::"})),
          ("test_task_definition_revision_names_the_secret",
           "test_running_task_keeps_old_value_and_new_task_gets_new")),
    Fault("execution-role-trusts-ecs",
          "the task execution role trusts ecs.amazonaws.com, not ecs-tasks.amazonaws.com: \"ECS was unable to "
          "assume the role ...\", the task never starts",
          edit_template(_role_trusting("TaskExecutionRole", "ecs.amazonaws.com")),
          ("test_task_reaches_running",)),
    Fault("execution-role-cannot-write-logs",
          "the task execution role has no logs:CreateLogStream/PutLogEvents, so the awslogs driver cannot create "
          "the task's stream and the task never starts (ResourceInitializationError: failed to validate logger args)",
          edit_template(_execution_role_log_actions()),
          ("test_task_reaches_running",)),
    Fault("execution-role-cannot-put-log-events",
          "the task execution role may create the task's log stream but not PutLogEvents: the task runs, its "
          "output (the host keys its sshd publishes) never reaches CloudWatch Logs",
          edit_template(_execution_role_log_actions("logs:CreateLogStream")),
          ("test_login_shell_has_taskdef_secret",),
          waits=30),  # the host keys never reach the task's log
    Fault("task-log-stream-prefix-with-a-colon",
          "the task definition's awslogs-stream-prefix has a colon: CloudWatch Logs refuses the stream name "
          "(InvalidParameterException: ... 'logStreamName' failed to satisfy constraint: Member must satisfy "
          "regular expression pattern: [^:*]*), the task never starts",
          edit_template(_task_log_stream_prefix_with_a_colon),
          ("test_task_reaches_running",)),
    Fault("task-logs-to-a-missing-group",
          "the task definition's awslogs-group names a log group the stack does not create (its execution role "
          "may write logs anywhere): \"The specified log group does not exist.\", the task never starts",
          edit_template(_task_logs_to_a_group_nobody_made),
          ("test_task_reaches_running",)),
    Fault("execution-role-cannot-read-secret",
          "the task execution role is not allowed GetSecretValue on the database secret",
          edit_template(_execution_role_without_db_secret),
          ("test_task_reaches_running",)),
    Fault("ecs-sh-not-readable",
          "startprocesses.sh leaves /etc/profile.d/ecs.sh readable by root only",
          edit_docker_file("startprocesses.sh", 'chmod 0644 "${tmp}"', 'chmod 0600 "${tmp}"'),
          ("test_login_shell_has_taskdef_secret", "test_attendee_sshes_from_the_bastion_into_the_task")),
    Fault("newway-ignores-taskdef-secret",
          "mysql.newway.sh ignores TASKDEF_SECRET and wants a secret name",
          edit_docker_file("mysql.newway.sh", 'secret="${TASKDEF_SECRET:-}"', 'secret=""'),
          ("test_newway_script_reads_bookinfo", "test_newway_script_in_the_task_over_the_bastions_ssh_reads_bookinfo")),
    Fault("newway-password-on-the-command-line",
          "mysql.newway.sh passes the password on mysql's command line, where ps shows it",
          edit_docker_file("mysql.newway.sh", 'MYSQL_PWD="$(field password)" exec mysql --host="${host}"',
                           'exec mysql --password="$(field password)" --host="${host}"'),
          ("test_no_secret_in_the_container_process_list",)),
    Fault("host-keys-baked-into-the-image",
          "the Dockerfile makes the SSH host keys at build time, so every task shares them",
          edit_docker_file("Dockerfile", "RUN /opt/smdemo/image-setup.sh\n",
                           "RUN /opt/smdemo/image-setup.sh\nRUN ssh-keygen -A\n"),
          ("test_no_secret_or_key_in_any_image_layer", "test_each_task_has_its_own_host_keys")),
    Fault("tasks-without-a-route-out",
          "the subnets' route table has no 0.0.0.0/0 route to the internet gateway (and there is no NAT or ECR "
          "endpoint), so a task cannot pull its image",
          edit_template(_no_route_out),
          ("test_task_reaches_running",)),
    Fault("bastion-not-admitted-to-the-task",
          "the tasks' security group admits SSH from the VPC's default group, not from the bastion's",
          edit_template(_bastion_not_admitted_to_the_task),
          ("test_login_shell_has_taskdef_secret", "test_attendee_sshes_from_the_bastion_into_the_task"),
          waits=45),  # ssh's ConnectTimeout, then the tunnel's
    Fault("bastion-without-docker",
          "the bastion's user data does not install Docker (AL2023 has none), so ./dockerbuild.sh cannot run",
          edit_template(_bastion_user_data_without("systemctl enable --now docker", "usermod -aG docker"),
                        _bastion_user_data_replacing("dnf install -y mariadb105 jq docker",
                                                     "dnf install -y mariadb105 jq")),
          ("test_image_is_built_and_pushed_on_the_bastion",)),
    Fault("ec2-user-not-in-the-docker-group",
          "Docker is installed and running but ec2-user is not in the docker group: permission denied on its socket",
          edit_template(_bastion_user_data_without("usermod -aG docker")),
          ("test_image_is_built_and_pushed_on_the_bastion",)),
    Fault("bastion-role-cannot-push",
          "the bastion's role may not log in to ECR or push, so ./dockertagandpush.sh fails",
          edit_template(_bastion_role_without("push-workshop-image")),
          ("test_image_is_built_and_pushed_on_the_bastion",)),
    Fault("bastion-role-cannot-read-the-container-password",
          "the bastion's role may not read the container user's secret, so the guide's ssh into the task has no "
          "password",
          edit_template(_bastion_role_without("container-password")),
          ("test_attendee_sshes_from_the_bastion_into_the_task",)),
    Fault("fargate-size-not-offered",
          "the task definition asks for 256 CPU units with 4096 MiB, a size Fargate does not offer "
          "(ECS: No Fargate configuration exists for given values)",
          edit_template(_fargate_size_not_offered),
          ("test_task_definition_revision_names_the_secret",)),
    Fault("rotation-keeps-password",
          "createSecret copies the current password, so a rotation changes nothing",
          next(fault.apply for fault in RDS_FAULTS if fault.name == "create-keeps-password"),
          ("test_oldway_script_fails_after_rotation", "test_running_task_keeps_old_value_and_new_task_gets_new")),
    SECRET_KEY_NOT_FOR_THE_TASK_EXECUTION_ROLE,
]
