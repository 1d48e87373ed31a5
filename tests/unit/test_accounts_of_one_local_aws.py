"""Three accounts of one local AWS (`--accounts N`, suite/shared_local_aws.py) deploy the workshop at the same
time, each in its own account: same stack, secret and database names, nothing shared. Each bastion's instance
metadata service hands out its own account's role, and each account sees its own stack only."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest

from localaws.access_keys import AccessKey
from localaws.service import LocalAWS
from suite.deploy.stack import StackSettings, WorkshopStack
from suite.target_list import offline_accounts
from suite.workshop_folder import workshop_folder

ACCOUNTS = [spec.account or "" for spec in offline_accounts(3)]
# On the bastion, as the AWS CLI finds its credentials: IMDSv2's token, then the instance profile's role.
WHO_AM_I = ("token=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "
            "http://169.254.169.254/latest/api/token) && curl -s -H \"X-aws-ec2-metadata-token: $token\" "
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/ && echo && "
            "aws sts get-caller-identity --query Account --output text")


@pytest.fixture(scope="module")
def local_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAWS]:
    local = LocalAWS(tmp_path_factory.mktemp("localaws"), accounts=tuple(ACCOUNTS)).start()
    try:
        yield local
    finally:
        local.stop()


def deploy(local: LocalAWS, account: str) -> dict[str, str]:
    admin = local.admins[account]

    def client(service: str, credentials: AccessKey | None = None) -> Any:
        return local.client(service, credentials or admin)

    settings = StackSettings(stack_name="smdemo", secret_name="smdemo", name_prefix="smdemo", run_id=account[-6:],
                             waiter={"Delay": 1, "MaxAttempts": 300})
    return WorkshopStack(client=client, region=local.region, workshop=workshop_folder(), settings=settings).deploy()


def run_on(local: LocalAWS, account: str, instance_id: str, command: str) -> str:
    ssm = local.client("ssm", local.admins[account])
    deadline = time.monotonic() + 120
    while True:  # the instance registers with Systems Manager once it has booted
        try:
            sent = ssm.send_command(InstanceIds=[instance_id], DocumentName="AWS-RunShellScript",
                                    Parameters={"commands": [command]})["Command"]["CommandId"]
            break
        except ssm.exceptions.InvalidInstanceId:
            assert time.monotonic() < deadline, f"{instance_id} never became a managed node"
            time.sleep(0.5)
    while True:
        time.sleep(0.3)
        try:
            answer = ssm.get_command_invocation(CommandId=sent, InstanceId=instance_id)
        except ssm.exceptions.InvocationDoesNotExist:
            continue
        if answer["Status"] not in ("Pending", "InProgress", "Delayed"):
            assert answer["Status"] == "Success", answer
            return str(answer["StandardOutputContent"])
        assert time.monotonic() < deadline, answer


def test_three_accounts_deploy_the_workshop_at_once_and_stay_apart(local_aws):
    with ThreadPoolExecutor(len(ACCOUNTS)) as pool:
        outputs = dict(zip(ACCOUNTS, pool.map(lambda account: deploy(local_aws, account), ACCOUNTS)))
        said = dict(zip(ACCOUNTS, pool.map(
            lambda account: run_on(local_aws, account, outputs[account]["BastionInstanceId"], WHO_AM_I), ACCOUNTS)))
    for account in ACCOUNTS:
        role, caller_account = said[account].split()
        assert role.startswith("smdemo-BastionRole-") and caller_account == account, said
        assert f":{account}:secret:smdemo-" in outputs[account]["SecretArn"]
        stacks = local_aws.client("cloudformation", local_aws.admins[account]).describe_stacks()["Stacks"]
        assert [(stack["StackName"], stack["StackStatus"]) for stack in stacks] == [("smdemo", "CREATE_COMPLETE")]
        assert all(f":{account}:" in stack["StackId"] for stack in stacks)
    assert len({outputs[account]["BastionInstanceId"] for account in ACCOUNTS}) == len(ACCOUNTS)
