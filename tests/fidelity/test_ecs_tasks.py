"""localaws.ext.ecs_tasks: RunTask really starts the task, as the Fargate agent does."""
from __future__ import annotations

import ipaddress
import json
import os
import signal
import time

import pytest

from tests.support.ecs_world import (CONTAINER, LOG_PREFIX, SCRIPT_PATH, create_world, detail, execution_role,
                                     public_subnet,
                                        processes_matching, pull_statements, secret_statement, ssh_server_key)
from tests.support.aws_helpers import secret_arn_pattern, unique, wait_for
from tests.fidelity.validation import NOT_YET_VALIDATED

ON_THIS_MACHINE = "looks for the container's processes on this machine (the local AWS's task sandboxes)"

INIT_ERROR = "ResourceInitializationError: unable to pull secrets or registry auth"
SHOWN = ("FROM_IMAGE", "OVERRIDDEN", "PLAIN", "SECRET_WHOLE", "SECRET_KEY", "SECRET_PREVIOUS", "SECRET_BY_VERSION")


@pytest.fixture(scope="module")
def world(aws):
    world = create_world(aws)
    yield world
    world.stop_all()


@pytest.fixture(scope="module")
def secrets(aws):
    """`db`: a JSON secret with two versions (AWSPREVIOUS, AWSCURRENT); `changing`: one the tests update;
    `missing_pattern`: names under which no secret exists."""
    sm = aws.client("secretsmanager")
    prefix = unique("fid-ecs")
    first = {"username": "fid-user", "password": unique("first-pw")}
    second = {"username": "fid-user", "password": unique("second-pw")}
    db = sm.create_secret(Name=f"{prefix}/db", SecretString=json.dumps(first))
    sm.put_secret_value(SecretId=db["ARN"], SecretString=json.dumps(second))
    changing = sm.create_secret(Name=f"{prefix}/changing", SecretString=json.dumps({"password": "before-change"}))
    return {"db": db["ARN"], "db_first_version": db["VersionId"], "first": first, "second": second,
            "second_string": json.dumps(second), "changing": changing["ARN"],
            "missing_pattern": secret_arn_pattern(aws, f"{prefix}/missing*")}


@pytest.fixture(scope="module")
def role(aws, world, secrets):
    """The execution role: pull from the test repository, read the test secrets (by ARN)."""
    return execution_role(aws, *pull_statements(world.repository_arn),
                          secret_statement(secrets["db"], secrets["changing"], secrets["missing_pattern"]))


@pytest.fixture(scope="module")
def serving(world, role, secrets):
    """A task of the image's own command (no command override) that prints its environment and runs an sshd;
    with every lastStatus seen from RunTask until RUNNING."""
    db = secrets["db"]
    definition = world.register(
        role,
        environment={"MODE": "sshd", "PLAIN": "plain-value", "OVERRIDDEN": "task-value", "SHOW": " ".join(SHOWN),
                     "TICK": "CHANGING"},
        secrets={"SECRET_WHOLE": db, "SECRET_KEY": f"{db}:password::",
                 "SECRET_PREVIOUS": f"{db}:password:AWSPREVIOUS:",
                 "SECRET_BY_VERSION": f"{db}:password::{secrets['db_first_version']}",
                 "CHANGING": f"{secrets['changing']}:password::"})
    returned = world.run(definition)
    arn, statuses = returned["taskArn"], [returned["lastStatus"]]

    def settled() -> dict | None:
        task = world.describe(arn)
        if task["lastStatus"] != statuses[-1]:
            statuses.append(task["lastStatus"])
        return task if task["lastStatus"] in ("RUNNING", "STOPPED") else None

    task = wait_for(settled, timeout=20, interval=0.05, what=f"task {arn} to run")
    assert task["lastStatus"] == "RUNNING", task.get("stoppedReason")
    lines = world.wait_log(task["taskArn"], "hostkey ")
    return {"task": task, "statuses": statuses, "lines": lines}


def _printed(lines: list[str], kind: str = "env") -> dict[str, str]:
    pairs = [line[len(kind) + 1:].split("=", 1) for line in lines if line.startswith(f"{kind} ")]
    return dict(pairs)


def _stopped(world, task_arn: str) -> dict:
    task = world.wait_status(task_arn, "STOPPED")
    assert task["lastStatus"] == "STOPPED"
    return task


def _eni_deleted(aws, task: dict) -> bool:
    eni = detail(task, "networkInterfaceId")
    found = aws.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "network-interface-id", "Values": [eni]}])["NetworkInterfaces"]
    return not found


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_task_is_provisioning_or_pending_before_running(serving):
    """Task lifecycle: "PROVISIONING → PENDING → ACTIVATING → RUNNING": RunTask returns the task before it
    runs (the agent still has to pull the image and resolve the secrets), and it reaches RUNNING later."""
    statuses = serving["statuses"]
    assert statuses[0] in ("PROVISIONING", "PENDING"), statuses
    assert statuses[-1] == "RUNNING"
    order = ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"]
    assert [order.index(status) for status in statuses] == sorted(order.index(status) for status in statuses)
    assert serving["task"]["containers"][0]["lastStatus"] == "RUNNING"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_container_environment_is_image_env_then_task_environment_then_secrets(serving, secrets):
    """The container runs the image's CMD with the image's ENV, overridden by the task definition's
    `environment`, plus each `secrets` entry as a variable ("Pass sensitive data to a container")."""
    env = _printed(serving["lines"])
    assert env["FROM_IMAGE"] == "image-value"
    assert env["OVERRIDDEN"] == "task-value"
    assert env["PLAIN"] == "plain-value"
    assert env["SECRET_KEY"] == secrets["second"]["password"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_secret_value_from_arn_json_key_stage_and_version(serving, secrets):
    """valueFrom "arn:...:secret:NAME-XXXXXX:json-key:version-stage:version-id": the bare ARN gives the whole
    AWSCURRENT SecretString; json-key picks one key; a stage or a version id picks that version."""
    env = _printed(serving["lines"])
    assert env["SECRET_WHOLE"] == secrets["second_string"]
    assert env["SECRET_KEY"] == secrets["second"]["password"]
    assert env["SECRET_PREVIOUS"] == secrets["first"]["password"]
    assert env["SECRET_BY_VERSION"] == secrets["first"]["password"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_container_output_goes_to_the_awslogs_stream_prefix_container_task_id(aws, world, serving):
    """awslogs driver: "the log stream name is prefix-name/container-name/ecs-task-id"."""
    task_id = serving["task"]["taskArn"].rsplit("/", 1)[-1]
    streams = aws.client("logs").describe_log_streams(logGroupName=world.log_group)["logStreams"]
    assert f"{LOG_PREFIX}/{CONTAINER}/{task_id}" in [stream["logStreamName"] for stream in streams]
    assert any(line.startswith("env FROM_IMAGE=") for line in serving["lines"])


@pytest.mark.local_only("connects to a task's private address from this machine: only the local AWS's network lets it")
def test_private_ip_is_where_the_containers_sshd_listens(aws, world, serving):
    """awsvpc: the task's ENI private IP (attachments and the container's networkInterfaces) is where its
    servers are reached; here the sshd the container started answers there with the key it printed, once
    its security group admits the caller. Security groups (VPC user guide, "Security group rules"): a
    group with no inbound rule drops every packet (the connection times out), and "when you add or
    remove rules, they are automatically applied to all resources associated with the security group".
    The suite is the internet here (the task has a public IP in a subnet routed to an internet gateway)."""
    task = serving["task"]
    address = detail(task, "privateIPv4Address")
    assert task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == address
    assert ipaddress.ip_address(address).is_loopback
    assert ssh_server_key(address, timeout=2) is None  # no inbound rule: the SYN goes unanswered
    ec2 = aws.client("ec2")
    rule = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": aws.admin_cidr()}]}]
    ec2.authorize_security_group_ingress(GroupId=world.security_group, IpPermissions=rule)
    try:
        printed = next(line.split(" ", 1)[1] for line in serving["lines"] if line.startswith("hostkey "))
        assert wait_for(lambda: ssh_server_key(address), timeout=10, what=f"an SSH server on {address}:22") == printed
    finally:
        ec2.revoke_security_group_ingress(GroupId=world.security_group, IpPermissions=rule)
    assert ssh_server_key(address, timeout=2) is None


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_running_task_keeps_the_secret_value_it_started_with(aws, world, serving, secrets):
    """Secrets are injected "when the container is initially started": a running task keeps the value after
    the secret changes; a task started afterwards gets the new one."""
    running = serving["task"]["taskArn"]
    world.wait_log(running, "tick CHANGING=before-change")
    aws.client("secretsmanager").put_secret_value(SecretId=secrets["changing"],
                                                        SecretString=json.dumps({"password": "after-change"}))
    seen = len(world.log_lines(running))
    definition = serving["task"]["taskDefinitionArn"]
    after = world.start(definition)["taskArn"]
    world.wait_log(after, "tick CHANGING=after-change")
    world.ecs.stop_task(cluster=world.cluster, task=after, reason="done")
    wait_for(lambda: len(world.log_lines(running)) >= seen + 3, timeout=10, what="ticks after the change")
    assert set(_printed(world.log_lines(running), "tick").items()) == {("CHANGING", "before-change")}


@pytest.mark.local_only(ON_THIS_MACHINE)
def test_stop_task_stops_the_container_user_initiated(aws, world, role):
    """StopTask: the task goes to STOPPED with stopCode UserInitiated and the given reason, its processes are
    gone, and its ENI is deleted ("the elastic network interface is deleted when the task stops")."""
    marker = unique("fid-stop-marker")
    task = world.start(world.register(role, command=["/bin/sh", SCRIPT_PATH, marker]))
    assert processes_matching(marker)
    world.ecs.stop_task(cluster=world.cluster, task=task["taskArn"], reason="fidelity says stop")
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stopCode"] == "UserInitiated"
    assert stopped["stoppedReason"] == "fidelity says stop"
    assert stopped["containers"][0]["lastStatus"] == "STOPPED"
    assert stopped["containers"][0]["exitCode"] in (143, 137)  # SIGTERM or SIGKILL, as Docker reports them
    wait_for(lambda: not processes_matching(marker), timeout=5, what="the container's processes to end")
    assert _eni_deleted(aws, stopped)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_essential_container_exit_stops_the_task_with_its_exit_code(aws, world, role):
    """When the essential container exits the task stops: stopCode EssentialContainerExited, stoppedReason
    "Essential container in task exited", the container's exitCode is the process's; its ENI is deleted."""
    task = world.run(world.register(role, environment={"MODE": "exit", "EXIT_CODE": "3"}))
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stopCode"] == "EssentialContainerExited", stopped.get("stoppedReason")
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["containers"][0]["exitCode"] == 3
    assert _eni_deleted(aws, stopped)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_secret_the_execution_role_may_not_read_stops_the_task(aws, world, secrets):
    """Secrets are retrieved with the task execution role: one its policy does not allow fails the start with
    "ResourceInitializationError: unable to pull secrets or registry auth ... AccessDeniedException",
    before anything runs."""
    narrow = execution_role(aws, *pull_statements(world.repository_arn), secret_statement(secrets["db"]))
    task = world.run(world.register(narrow, secrets={"ALLOWED": f"{secrets['db']}:password::",
                                                     "DENIED": f"{secrets['changing']}:password::"}))
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith(INIT_ERROR)
    assert "AccessDeniedException" in stopped["stoppedReason"]
    assert secrets["changing"] in stopped["stoppedReason"]
    assert world.log_lines(task["taskArn"]) == []
    assert _eni_deleted(aws, stopped)


@pytest.mark.parametrize("value_from, named", [
    ("{missing}:password::", "ResourceNotFoundException"),
    ("{db}:no-such-key::", "json key no-such-key"),
], ids=["missing-secret", "missing-json-key"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_missing_secret_or_json_key_stops_the_task(aws, world, role, secrets, value_from, named):
    """A secret that does not exist, or a json-key the secret does not have, fails the start with
    ResourceInitializationError (the task never runs)."""
    missing = secrets["missing_pattern"].rstrip("*") + "-AbCdEf"
    task = world.run(world.register(role, secrets={"S": value_from.format(missing=missing, db=secrets["db"])}))
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith(INIT_ERROR)
    assert named in stopped["stoppedReason"]
    assert world.log_lines(task["taskArn"]) == []


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_image_missing_from_ecr_stops_the_task_cannot_pull(world, role):
    """An image tag that is not in the repository: "CannotPullContainerError", the task stops."""
    task = world.run(world.register(role, image=world.image.rsplit(":", 1)[0] + ":no-such-tag"))
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotPullContainerError")


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_image_is_pulled_with_the_execution_role(aws, world):
    """The agent pulls from ECR with the execution role: a role allowed to pull only from another
    repository cannot pull this image (CannotPullContainerError ... AccessDeniedException)."""
    other = world.repository_arn.rsplit("/", 1)[0] + "/some-other-repository"
    task = world.run(world.register(execution_role(aws, *pull_statements(other))))
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stoppedReason"].startswith("CannotPullContainerError")
    assert "AccessDeniedException" in stopped["stoppedReason"]


@pytest.mark.local_only(ON_THIS_MACHINE)
def test_stop_task_while_pending_keeps_it_stopped(world, role, secrets):
    """StopTask on a task that has not started yet: it stops and never runs."""
    marker = unique("fid-early-stop")
    # Twenty secrets to resolve keep the task PENDING long enough for StopTask to arrive first.
    many = {f"SECRET_{number}": f"{secrets['db']}:password::" for number in range(20)}
    task = world.run(world.register(role, command=["/bin/sh", SCRIPT_PATH, marker], secrets=many))
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    try:
        world.ecs.stop_task(cluster=world.cluster, task=task["taskArn"], reason="before it started")
        deadline = time.monotonic() + 4  # longer than a task takes to start here
        while time.monotonic() < deadline and not processes_matching(marker):
            time.sleep(0.1)
        assert not processes_matching(marker)
        assert world.describe(task["taskArn"])["lastStatus"] == "STOPPED"
    finally:
        # The leaked sandbox cannot be stopped through the API any more: end it by its process id.
        for line in processes_matching(task_id):
            if line.split()[1].endswith("bwrap"):
                os.kill(int(line.split()[0]), signal.SIGKILL)


@pytest.mark.parametrize("network", ["no-route", "no-public-ip", "endpoint-refuses", "endpoints"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_task_needs_a_way_to_ecr_and_secrets_manager(aws, world, role, network):
    """Fargate tasks reach ECR and Secrets Manager through a 0.0.0.0/0 route to an internet gateway with a
    public IP, a NAT gateway, or interface VPC endpoints with private DNS whose security group admits HTTPS
    from the task (ECS developer guide, "Fargate task networking"); without one the agent's pull times out
    and the task stops with CannotPullContainerError (or ResourceInitializationError for its secrets)."""
    ec2, ecs = aws.client("ec2"), aws.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.78.1.0/24")["Subnet"]["SubnetId"]
    task_group = ec2.create_security_group(GroupName=unique("fid-net-task"), Description="t", VpcId=vpc)["GroupId"]
    if network == "no-public-ip":
        public_subnet(ec2, vpc, subnet)
    if network in ("endpoint-refuses", "endpoints"):
        endpoint_group = ec2.create_security_group(GroupName=unique("fid-net-ep"), Description="e",
                                                   VpcId=vpc)["GroupId"]
        if network == "endpoints":
            ec2.authorize_security_group_ingress(GroupId=endpoint_group, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": task_group}]}])
        for service in ("ecr.api", "ecr.dkr", "logs"):
            ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{aws.region}.{service}",
                                    VpcEndpointType="Interface", SubnetIds=[subnet], SecurityGroupIds=[endpoint_group],
                                    PrivateDnsEnabled=True)
    task = ecs.run_task(cluster=world.cluster, taskDefinition=world.register(role), launchType="FARGATE", count=1,
                        networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet],
                                                                      "securityGroups": [task_group]}})["tasks"][0]
    world.started.append(task["taskArn"])
    settled = wait_for(lambda: (t := ecs.describe_tasks(cluster=world.cluster, tasks=[task["taskArn"]])["tasks"][0])
                       ["lastStatus"] in ("RUNNING", "STOPPED") and t, timeout=30, what="the task to settle")
    if network == "endpoints":
        assert settled["lastStatus"] == "RUNNING", settled.get("stoppedReason")
    else:
        assert settled["lastStatus"] == "STOPPED"
        assert (settled["stoppedReason"].startswith("CannotPullContainerError: ")
                and "i/o timeout" in settled["stoppedReason"])


# -- the roles ECS assumes, and what it does as the execution role (issue 22)

UNABLE_TO_ASSUME = ("ECS was unable to assume the role '{}' that was provided for this task. Please verify that the "
                    "role being passed has the proper trust relationship and permissions and that your IAM user has "
                    "permissions to pass this role.")
LOGGER_ARGS = "ResourceInitializationError: failed to validate logger args: "


def _trusting(aws, role_arn: str, service: str) -> str:
    aws.client("iam").update_assume_role_policy(RoleName=role_arn.rsplit("/", 1)[-1], PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}))
    return role_arn


@pytest.mark.parametrize("which", ["execution role", "task role"])
@pytest.mark.local_only(ON_THIS_MACHINE)
def test_a_role_ecs_tasks_may_not_assume_stops_the_task(aws, world, which):
    """"Amazon ECS task execution IAM role" and "Amazon ECS task IAM role": their trust policies must admit
    ecs-tasks.amazonaws.com. One that trusts ecs.amazonaws.com (ECS's own service principal) cannot be
    assumed: the task never starts, "ECS was unable to assume the role '<arn>' that was provided for this
    task. ..." (the text ECS reports, as in the service events of aws-samples' workshops)."""
    marker = unique("fid-never-runs")
    execution = execution_role(aws, *pull_statements(world.repository_arn))
    task_role = execution_role(aws, secret_statement("*"))
    wrong = _trusting(aws, execution if which == "execution role" else task_role, "ecs.amazonaws.com")
    task = world.run(world.register(execution, task_role_arn=task_role, command=["/bin/sh", SCRIPT_PATH, marker]))
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"] == UNABLE_TO_ASSUME.format(wrong)
    assert not processes_matching(marker)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_task_logging_to_a_log_group_that_does_not_exist_never_starts(aws, world, role):
    """"Using the awslogs log driver": the log group must exist (the driver creates it only with
    awslogs-create-group true); otherwise the task stops with "ResourceInitializationError: failed to
    validate logger args: ... ResourceNotFoundException: The specified log group does not exist." and no
    group is made on the role's behalf."""
    group = unique("/fidelity/no-such-group")
    task = world.run(world.register(role, log_group=group))
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith(LOGGER_ARGS + "create stream has been retried 1 times: failed to "
                                               "create Cloudwatch log stream: ResourceNotFoundException: The "
                                               "specified log group does not exist.")
    assert not aws.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_awslogs_create_group_creates_it_as_the_execution_role(aws, world):
    """awslogs-create-group "true": the driver creates the group, as the execution role, which then needs
    logs:CreateLogGroup; without it the task stops (AccessDeniedException on logs:CreateLogGroup)."""
    logs = aws.client("logs")
    may_create = {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": "*"}
    for allowed in (False, True):
        group = unique("/fidelity/created")
        role = execution_role(aws, *pull_statements(world.repository_arn), *([may_create] if allowed else []))
        task = world.run(world.register(role, log_group=group, log_options={"awslogs-create-group": "true"},
                                        environment={"SHOW": "MODE", "MODE": "wait"}))
        if allowed:
            assert world.wait_status(task["taskArn"], "RUNNING")["lastStatus"] == "RUNNING"
            assert wait_for(lambda: world.log_lines(task["taskArn"], group),
                            what="the task's log")[0] == "env MODE=wait"
            world.ecs.stop_task(cluster=world.cluster, task=task["taskArn"], reason="fidelity test clean-up")
        else:
            stopped = _stopped(world, task["taskArn"])
            assert stopped["stoppedReason"].startswith(LOGGER_ARGS + "create group has been retried 1 times")
            assert "AccessDeniedException" in stopped["stoppedReason"]
            assert "logs:CreateLogGroup" in stopped["stoppedReason"]
            assert not logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_log_stream_is_created_and_written_as_the_execution_role(aws, world):
    """The awslogs driver creates the stream and puts the container's output as the execution role
    (AmazonECSTaskExecutionRolePolicy grants logs:CreateLogStream and logs:PutLogEvents): a role without
    CreateLogStream stops the task (AccessDeniedException naming the stream's ARN); one that may create
    the stream but not PutLogEvents runs the task, and its output is lost."""
    pull = pull_statements(world.repository_arn)[:2]
    no_logs = execution_role(aws, *pull)
    task = world.run(world.register(no_logs))
    stopped = _stopped(world, task["taskArn"])
    assert stopped["stopCode"] == "TaskFailedToStart"
    reason = stopped["stoppedReason"]
    assert reason.startswith(LOGGER_ARGS + "create stream has been retried 1 times: failed to create Cloudwatch log "
                             "stream: AccessDeniedException: User: arn:aws:sts::"), reason
    task_id = task["taskArn"].rsplit("/", 1)[-1]
    assert (f"is not authorized to perform: logs:CreateLogStream on resource: arn:aws:logs:{aws.region}:"
            f"{aws.account_id}:log-group:{world.log_group}:log-stream:{LOG_PREFIX}/{CONTAINER}/{task_id}") in reason

    create_only = execution_role(aws, *pull, {"Effect": "Allow", "Action": "logs:CreateLogStream",
                                                    "Resource": f"arn:aws:logs:*:*:log-group:{world.log_group}:*"})
    marker = unique("fid-unlogged")
    task = world.start(world.register(create_only, command=["/bin/sh", SCRIPT_PATH, marker],
                                      environment={"TICK": "MODE"}))
    time.sleep(1.5)  # several ticks printed
    assert task["lastStatus"] == "RUNNING"
    stream = f"{LOG_PREFIX}/{CONTAINER}/{task['taskArn'].rsplit('/', 1)[-1]}"
    streams = aws.client("logs").describe_log_streams(logGroupName=world.log_group, logStreamNamePrefix=stream)
    assert [s["logStreamName"] for s in streams["logStreams"]] == [stream]
    assert world.log_lines(task["taskArn"]) == []
    world.ecs.stop_task(cluster=world.cluster, task=task["taskArn"], reason="fidelity test clean-up")
