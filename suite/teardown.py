"""What a run left behind, found after its teardown, never assumed.

Everything a run creates carries its `smdemo:run-id` tag (the stack passes it to what it
makes; the suite tags its own principals, roles, secrets and tasks). After the teardown the
account is asked: the Resource Groups Tagging API for what is still tagged with the run id
(terminated instances, stopped tasks, INACTIVE clusters and task definitions excepted: EC2 and
ECS keep listing them after they are gone, and they cost nothing),
then what that API does not cover: the stack's log groups and ECR repository (by the names
in its outputs) and IAM users and roles (by the run id in their names, as the suite names them).
"""
from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

RUN_ID_TAG = "smdemo:run-id"
LEFT_BEHIND_KEY = pytest.StashKey[str]()  # what the teardown could not remove: the verdict names it


def tagged_with_run(client: Any, run_id: str) -> list[str]:
    """ARNs still tagged with the run id (terminated instances left out)."""
    tagging = client("resourcegroupstaggingapi")
    arns = [mapping["ResourceARN"]
            for page in tagging.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": RUN_ID_TAG, "Values": [run_id]}])
            for mapping in page["ResourceTagMappingList"]]
    ended = _ended(client, arns)  # asked once, not once per ARN
    return [arn for arn in arns if arn not in ended]


def _ended(client: Any, arns: list[str]) -> set[str]:
    """The ARNs among `arns` that are gone but still listed: terminated instances, stopped tasks,
    INACTIVE clusters and task definitions."""
    ended = set()
    instances = {arn.rsplit("/", 1)[-1]: arn for arn in arns if ":ec2:" in arn and ":instance/" in arn}
    if instances:
        for reservation in client("ec2").describe_instances(InstanceIds=list(instances))["Reservations"]:
            ended |= {instances[instance["InstanceId"]] for instance in reservation["Instances"]
                      if instance["State"]["Name"] in ("terminated", "shutting-down")}
    tasks: dict[str, list[str]] = {}
    for arn in arns:
        if ":ecs:" in arn and ":task/" in arn:
            tasks.setdefault(arn.split(":task/", 1)[1].split("/")[0], []).append(arn)
    for cluster, cluster_tasks in tasks.items():
        for chunk in range(0, len(cluster_tasks), 100):
            try:
                described = client("ecs").describe_tasks(cluster=cluster, tasks=cluster_tasks[chunk:chunk + 100])
            except ClientError as error:
                if error.response["Error"]["Code"] != "ClusterNotFoundException":
                    raise
                ended |= set(cluster_tasks)  # the cluster is gone, and its tasks with it
                break
            ended |= {task["taskArn"] for task in described["tasks"] if task["lastStatus"] == "STOPPED"}
    ecs = client("ecs")
    clusters = [arn for arn in arns if ":ecs:" in arn and ":cluster/" in arn]
    if clusters:
        ended |= {cluster["clusterArn"] for cluster in ecs.describe_clusters(clusters=clusters)["clusters"]
                  if cluster["status"] == "INACTIVE"}
    for arn in arns:
        if ":ecs:" in arn and ":task-definition/" in arn:
            described = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            if described.get("status") == "INACTIVE":
                ended.add(arn)
    return ended


def untagged_leftovers(client: Any, run_id: str, outputs: dict[str, str]) -> list[str]:
    """What the tagging API does not list: log groups, the ECR repository, IAM users and roles."""
    found = []
    logs = client("logs")
    for group in filter(None, (outputs.get("TaskLogGroupName"),
                               outputs.get("RotationFunctionName")
                               and f"/aws/lambda/{outputs['RotationFunctionName']}")):
        if any(entry["logGroupName"] == group
               for entry in logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])):
            found.append(f"log group {group}")
    if outputs.get("ECRRepositoryName"):
        try:
            client("ecr").describe_repositories(repositoryNames=[outputs["ECRRepositoryName"]])
            found.append(f"ECR repository {outputs['ECRRepositoryName']}")
        except ClientError as error:
            if error.response["Error"]["Code"] != "RepositoryNotFoundException":
                raise
    iam = client("iam")
    for kind, key in (("users", "Users"), ("roles", "Roles")):
        for page in iam.get_paginator(f"list_{kind}").paginate():
            found += [f"IAM {kind[:-1]} {entry[key[:-1] + 'Name']}" for entry in page[key]
                      if run_id in entry[key[:-1] + "Name"]]
    return found


def leftovers(client: Any, run_id: str, outputs: dict[str, str]) -> list[str]:
    """Everything of the run that is still there, each named: empty when the teardown was complete."""
    return tagged_with_run(client, run_id) + untagged_leftovers(client, run_id, outputs)
