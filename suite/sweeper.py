"""Find, and with --delete remove, what earlier runs left behind.

    python -m suite.sweeper [--older-than 2h] [--delete] [--region REGION]
    python -m suite.sweeper --offline [--delete]

Live (the default): everything tagged `Project=smproj` in the account and region whose
`smdemo:run-id` (which starts with the run's UTC start time) is older than --older-than, and
the suite's IAM users and roles: stacks first (DeleteStack, awaited), then what is still there
(secrets, buckets, log groups, tasks and task definitions, ECR repositories, IAM users and
roles). Nothing is deleted without --delete: the default is a dry run that lists what would be.
AWS_ENDPOINT_URL points it at any AWS-compatible endpoint, as the suite's live mode.

--offline: the processes and files of an offline run that did not end cleanly (a local AWS
server whose suite is gone, a database or sandbox whose server is gone, MariaDB sockets left
in the temporary directory). Every process of a run dies with it (localaws/processes.py), so
this finds something only after a run was started some other way, or a local AWS that
`--keep-stack` left serving on purpose (its state folder goes with it).
"""
from __future__ import annotations

import argparse
import functools
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import psutil
from botocore.exceptions import ClientError

from suite.deploy.stack import PROJECT_TAG
from suite.teardown import RUN_ID_TAG

KEPT_PREFIX = "localaws-kept-"  # the state folder of a local AWS that --keep-stack left serving (suite/fixtures.py)
RUN_ID = re.compile(r"^(\d{14})")
DURATION = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class Leftover:
    what: str  # "stack smdemo-2026...", "secret arn:...", "process 1234 ..."
    run_id: str
    delete: Callable[[], None]


def age_limit(text: str) -> timedelta:
    found = DURATION.match(text)
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r}: give an age like 90m, 2h or 3d")
    return timedelta(seconds=int(found.group(1)) * UNITS[found.group(2)])


def started(run_id: str) -> datetime | None:
    found = RUN_ID.match(run_id)
    if not found:
        return None
    return datetime.strptime(found.group(1), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


# --------------------------------------------------------------------------- live

def _tags(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {str(tag.get("Key", tag.get("key"))): str(tag.get("Value", tag.get("value"))) for tag in tags or []}


def _old(tags: dict[str, str], cutoff: datetime) -> bool:
    begun = started(tags.get(RUN_ID_TAG, ""))
    return tags.get("Project") == PROJECT_TAG and begun is not None and begun < cutoff


def live_leftovers(session: boto3.Session, cutoff: datetime) -> Iterator[Leftover]:
    cfn = session.client("cloudformation")
    stacks = []
    for page in cfn.get_paginator("describe_stacks").paginate():
        for stack in page["Stacks"]:
            tags = _tags(stack.get("Tags"))
            if _old(tags, cutoff) and stack["StackStatus"] != "DELETE_COMPLETE":
                stacks.append(stack["StackName"])
                yield Leftover(f"stack {stack['StackName']} ({stack['StackStatus']})", tags[RUN_ID_TAG],
                               _stack_deleter(cfn, stack["StackName"]))
    tagging = session.client("resourcegroupstaggingapi")
    for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "Project", "Values": [PROJECT_TAG]}, {"Key": RUN_ID_TAG}]):
        for mapping in page["ResourceTagMappingList"]:
            tags = _tags(mapping.get("Tags"))
            arn = mapping["ResourceARN"]
            if _old(tags, cutoff) and tags.get("aws:cloudformation:stack-name") not in stacks \
                    and ":cloudformation:" not in arn:
                yield Leftover(arn, tags[RUN_ID_TAG], _arn_deleter(session, arn))
    yield from _iam_leftovers(session.client("iam"), cutoff)


def _stack_deleter(cfn: Any, name: str) -> Callable[[], None]:
    def delete() -> None:
        cfn.delete_stack(StackName=name)
        cfn.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 15, "MaxAttempts": 160})
    return delete


def _arn_deleter(session: boto3.Session, arn: str) -> Callable[[], None]:
    service, resource = arn.split(":")[2], arn.split(":", 5)[5]

    def delete() -> None:
        if service == "secretsmanager":
            session.client("secretsmanager").delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        elif service == "s3":
            bucket = session.resource("s3").Bucket(resource)
            bucket.object_versions.delete()
            bucket.delete()
        elif service == "logs":
            session.client("logs").delete_log_group(logGroupName=resource.split(":", 1)[1].removesuffix(":*"))
        elif service == "ecs" and resource.startswith("task/"):
            session.client("ecs").stop_task(cluster=resource.split("/")[1], task=arn, reason="smdemo sweeper")
        elif service == "ecs" and resource.startswith("task-definition/"):
            session.client("ecs").deregister_task_definition(taskDefinition=arn)
        elif service == "ecs" and resource.startswith("cluster/"):
            session.client("ecs").delete_cluster(cluster=arn)
        elif service == "ecr" and resource.startswith("repository/"):
            session.client("ecr").delete_repository(repositoryName=resource.split("/", 1)[1], force=True)
        else:
            raise NotImplementedError(f"{arn}: delete it by hand (the sweeper deletes what runs leave outside "
                                      f"stacks: secrets, buckets, log groups, tasks, repositories, IAM)")
    return delete


def _iam_leftovers(iam: Any, cutoff: datetime) -> Iterator[Leftover]:
    """The suite's IAM users and roles (named smdemo-...; the tagging API does not list IAM)."""
    for kind in ("user", "role"):
        listing = iam.get_paginator(f"list_{kind}s").paginate()
        for entry in (entry for page in listing for entry in page[f"{kind.capitalize()}s"]):
            name = entry[f"{kind.capitalize()}Name"]
            if not name.startswith("smdemo-"):
                continue
            tags = _tags(getattr(iam, f"list_{kind}_tags")(**{f"{kind.capitalize()}Name": name})["Tags"])
            if _old(tags, cutoff) and "aws:cloudformation:stack-name" not in tags:
                yield Leftover(f"IAM {kind} {name}", tags[RUN_ID_TAG], _iam_deleter(iam, kind, name))


def _iam_deleter(iam: Any, kind: str, name: str) -> Callable[[], None]:
    key = {f"{kind.capitalize()}Name": name}

    def delete() -> None:
        for policy in getattr(iam, f"list_attached_{kind}_policies")(**key)["AttachedPolicies"]:
            getattr(iam, f"detach_{kind}_policy")(PolicyArn=policy["PolicyArn"], **key)
        for policy in getattr(iam, f"list_{kind}_policies")(**key)["PolicyNames"]:
            getattr(iam, f"delete_{kind}_policy")(PolicyName=policy, **key)
        if kind == "user":
            for access_key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                iam.delete_access_key(UserName=name, AccessKeyId=access_key["AccessKeyId"])
        getattr(iam, f"delete_{kind}")(**key)
    return delete


# --------------------------------------------------------------------------- offline

def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _owner_alive(command: list[str]) -> bool:
    if "--owner-pid" not in command:
        return True  # not the suite's server: not ours to judge
    owner = int(command[command.index("--owner-pid") + 1])
    return psutil.pid_exists(owner) and psutil.Process(owner).status() != psutil.STATUS_ZOMBIE


def _in_this_tmpdir(state: Path | None) -> bool:
    """A server whose state is under this TMPDIR (where the runs it sweeps for keep theirs): another TMPDIR's
    runs, a test session's beside a self-test's, are not this sweep's to judge."""
    return state is None or state.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())


def offline_leftovers() -> Iterator[Leftover]:
    servers = {}
    # Servers forked from a preloaded one (localaws/preloaded.py) and that process itself: their databases and
    # sandboxes have a local AWS; each ends with its own owner (no --owner-pid in its command line to read).
    preloaded = set()
    for process in psutil.process_iter():
        command = _cmdline(process)
        if "localaws.server_process" in command:
            servers[process.pid] = command
        elif "localaws.preloaded" in command:
            preloaded.add(process.pid)
    kept_dirs = {_state_dir(command) for command in servers.values()}
    for pid, command in servers.items():
        state = _state_dir(command)
        if not _owner_alive(command) and _in_this_tmpdir(state):
            if state and state.name.startswith(KEPT_PREFIX):  # --keep-stack left it serving, on purpose
                yield Leftover(f"process {pid}: a local AWS kept by --keep-stack (state in {state})", "",
                               _killer(pid, then_remove=state))
            else:
                yield Leftover(f"process {pid}: a local AWS whose suite is gone ({' '.join(command[-6:])})", "",
                               _killer(pid))
    for state in Path(tempfile.gettempdir()).glob(f"{KEPT_PREFIX}*"):
        if state not in kept_dirs:
            yield Leftover(f"folder {state}: the state of a kept local AWS that no longer runs", "",
                           functools.partial(shutil.rmtree, state, ignore_errors=True))
    for process in psutil.process_iter():
        command_line = " ".join(_cmdline(process))
        ours = ("mariadbd" in command_line and "--datadir=" in command_line and "/rds/" in command_line) or (
            "bwrap" in command_line and ("/ec2-hosts/" in command_line or "/ecs-tasks/" in command_line))
        if ours:
            try:
                parent = process.ppid()
            except psutil.Error:
                continue
            if parent not in servers and parent not in preloaded and not _is_sandbox(parent):
                yield Leftover(f"process {process.pid}: {command_line[:100]} (its local AWS is gone)", "",
                               _killer(process.pid))
    for socket_file in Path(tempfile.gettempdir()).glob("localaws-mysqld-*.sock"):
        if not any(f"--socket={socket_file}" in " ".join(_cmdline(p)) for p in psutil.process_iter()):
            yield Leftover(f"file {socket_file} (a database socket nothing serves)", "", socket_file.unlink)


def _is_sandbox(pid: int) -> bool:
    """bubblewrap runs as two processes, the inner one a child of the outer."""
    try:
        return "bwrap" in " ".join(_cmdline(psutil.Process(pid)))
    except psutil.Error:
        return False


def _state_dir(command: list[str]) -> Path | None:
    return Path(command[command.index("--state-dir") + 1]) if "--state-dir" in command else None


def _killer(pid: int, then_remove: Path | None = None) -> Callable[[], None]:
    def kill() -> None:
        try:
            process = psutil.Process(pid)
            process.terminate()
            process.wait(timeout=15)
        except psutil.TimeoutExpired:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
        if then_remove is not None:
            shutil.rmtree(then_remove, ignore_errors=True)
    return kill


# --------------------------------------------------------------------------- command

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m suite.sweeper", description=__doc__.split("\n\n")[0])
    parser.add_argument("--older-than", type=age_limit, default=timedelta(hours=2),
                        help="live: runs that started longer ago than this (default 2h)")
    parser.add_argument("--delete", action="store_true", help="delete what is found (default: only list it)")
    parser.add_argument("--region", default=None, help="live: the region (default: the AWS config's)")
    parser.add_argument("--offline", action="store_true", help="this machine's offline leftovers instead")
    args = parser.parse_args(argv)
    if args.offline:
        found = list(offline_leftovers())
    else:
        session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
        if session.get_credentials() is None or not session.region_name:
            print("sweeper: live needs AWS credentials and a region (--region or AWS_REGION)", file=sys.stderr)
            return 4
        found = list(live_leftovers(session, datetime.now(timezone.utc) - args.older_than))
    verb = "deleting" if args.delete else "would delete (dry run; --delete to do it)"
    failures = 0
    for leftover in found:
        print(f"{verb}: {leftover.what}" + (f"  [run {leftover.run_id}]" if leftover.run_id else ""))
        if args.delete:
            try:
                leftover.delete()
            except (ClientError, NotImplementedError, OSError) as error:
                failures += 1
                print(f"  not deleted: {error}", file=sys.stderr)
    print(f"sweeper: {len(found)} found, {'deleted' if args.delete else 'nothing deleted'}"
          + (f", {failures} could not be deleted" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
