"""localaws.ext.ssm_commands: Run Command's AWS-RunShellScript runs on the instance, as AWS documents.

AWS, Systems Manager API reference (SendCommand, GetCommandInvocation: "StandardOutputContent: the first
24,000 characters written by the plugin to stdout", "StandardErrorContent: the first 8,000 characters",
"ResponseCode ... -1, then the command hasn't started running"), user guide "Understanding command
statuses" and "Setting up Systems Manager for EC2 instances" (an instance profile allowing the agent's
calls, and a network path to the ssm, ssmmessages and ec2messages endpoints).
"""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.support.ssm_agent import AGENT_POLICY, agent_profile, launch, run_command
from tests.fidelity.validation import NOT_YET_VALIDATED

RUNNING = ("Pending", "InProgress")


@pytest.fixture(scope="module")
def managed(aws, route, vpc):
    """An instance with the agent's permissions in a public subnet: a managed node."""
    instance = launch(aws, route, vpc["public"], agent_profile(aws, AGENT_POLICY))
    yield instance
    aws.client("ec2").terminate_instances(InstanceIds=[instance])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_a_command_reaches_the_instances_named_and_no_other(aws, route, vpc, managed):
    """SendCommand InstanceIds: an invocation on each instance named, none on the account's others
    (GetCommandInvocation there: InvocationDoesNotExist)."""
    other = launch(aws, route, vpc["public"], None)
    try:
        ssm = aws.client("ssm")
        sent = ssm.send_command(InstanceIds=[managed], DocumentName="AWS-RunShellScript",
                                Parameters={"commands": ["true"]})["Command"]
        assert sent["InstanceIds"] == [managed] and sent["TargetCount"] == 1
        with pytest.raises(ClientError) as missing:
            ssm.get_command_invocation(CommandId=sent["CommandId"], InstanceId=other)
        assert missing.value.response["Error"]["Code"] == "InvocationDoesNotExist"
    finally:
        aws.client("ec2").terminate_instances(InstanceIds=[other])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_commands_run_as_root_in_the_instance_and_report_their_exit_code(aws, managed):
    """Exit code 0: Success; any other: Failed with that ResponseCode; stdout and stderr apart; the
    commands run as root, in the instance (its own hostname and files), in workingDirectory."""
    ok = run_command(aws, managed, "id -un", "hostname", "test -f /etc/ssh/sshd_config.d/00-instance.conf && pwd",
              workingDirectory=["/tmp"])
    assert (ok["Status"], ok["StatusDetails"], ok["ResponseCode"]) == ("Success", "Success", 0)
    assert len(ok["StandardOutputContent"].split()) == 3, ok["StandardOutputContent"]
    user, hostname, directory = ok["StandardOutputContent"].split()
    assert (user, directory) == ("root", "/tmp") and hostname.startswith("ip-10-64-1-")
    failed = run_command(aws, managed, "echo to-stderr >&2", "exit 3")
    assert (failed["Status"], failed["ResponseCode"]) == ("Failed", 3)
    assert failed["StandardErrorContent"] == "to-stderr\n" and failed["StandardOutputContent"] == ""


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_output_is_cut_at_24000_and_8000_characters(aws, managed):
    done = run_command(aws, managed, "head -c 30000 /dev/zero | tr '\\0' o", "head -c 9000 /dev/zero | tr '\\0' e >&2")
    assert len(done["StandardOutputContent"]) == 24_000 and len(done["StandardErrorContent"]) == 8_000


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_execution_timeout_stops_the_command(aws, managed):
    done = run_command(aws, managed, "sleep 30", executionTimeout=["1"])
    assert (done["Status"], done["StatusDetails"]) == ("TimedOut", "ExecutionTimedOut")


@pytest.mark.parametrize("case", ["no instance profile", "a role without the agent's permissions",
                                  "a role EC2 cannot assume", "no way to the endpoints"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_an_instance_that_is_no_managed_node_is_refused(aws, route, vpc, case):
    """A role whose trust policy does not admit ec2.amazonaws.com gives the agent no credentials
    (EC2 user guide, "Troubleshoot IAM roles": "EC2 cannot assume the role"), so it never registers."""
    profile = None if case == "no instance profile" else agent_profile(
        aws, None if case == "a role without the agent's permissions" else AGENT_POLICY,
        "lambda.amazonaws.com" if case == "a role EC2 cannot assume" else "ec2.amazonaws.com")
    subnet = vpc["private"] if case == "no way to the endpoints" else vpc["public"]
    instance = launch(aws, route, subnet, profile)
    try:
        with pytest.raises(ClientError) as refused:
            aws.client("ssm").send_command(InstanceIds=[instance], DocumentName="AWS-RunShellScript",
                                                 Parameters={"commands": ["true"]})
        assert refused.value.response["Error"]["Code"] == "InvalidInstanceId"
        assert f"Instances [[{instance}]] not in a valid state" in refused.value.response["Error"]["Message"]
    finally:
        aws.client("ec2").terminate_instances(InstanceIds=[instance])


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_an_answer_about_a_running_command_is_held_until_it_ends_or_a_quarter_second(aws, managed):
    """AWS answers GetCommandInvocation at once; the local AWS holds an answer about a running invocation up to
    0.25 s for it to end (a long poll: a client polling sees the same statuses in the same order, sooner)."""
    import time

    ssm = aws.client("ssm")
    quick = ssm.send_command(InstanceIds=[managed], DocumentName="AWS-RunShellScript",
                             Parameters={"commands": ["sleep 0.1; echo done"]})["Command"]["CommandId"]
    calls = 0
    while (answer := ssm.get_command_invocation(CommandId=quick, InstanceId=managed))["Status"] in RUNNING:
        calls += 1  # no pause: answered at once, this loop would ask dozens of times
    assert (answer["Status"], answer["StandardOutputContent"]) == ("Success", "done\n")
    assert calls <= 5, f"{calls} answers said the command still ran"
    slow = ssm.send_command(InstanceIds=[managed], DocumentName="AWS-RunShellScript",
                            Parameters={"commands": ["sleep 2"]})["Command"]["CommandId"]
    started = time.monotonic()
    answer = ssm.get_command_invocation(CommandId=slow, InstanceId=managed)
    held = time.monotonic() - started
    assert (answer["Status"], answer["ResponseCode"]) == ("InProgress", -1)
    assert 0.2 <= held < 1.5, f"the answer took {held:.2f} s"
    assert run_command(aws, managed, "true")["Status"] == "Success"  # others are answered meanwhile
