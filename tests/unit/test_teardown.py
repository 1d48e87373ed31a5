"""suite.teardown: what is still tagged with the run after its teardown, the ended resources EC2 and ECS keep
listing left out, each service asked once however many ARNs it lists."""
from __future__ import annotations

import collections
from typing import Any

from suite.teardown import RUN_ID_TAG, tagged_with_run

REGION_ACCOUNT = "us-east-1:123456789012"
INSTANCE = f"arn:aws:ec2:{REGION_ACCOUNT}:instance/i-0123456789abcdef0"
TASKS = [f"arn:aws:ecs:{REGION_ACCOUNT}:task/smdemo/{n:032x}" for n in range(3)]
TASK_DEFINITION = f"arn:aws:ecs:{REGION_ACCOUNT}:task-definition/smdemo:1"
CLUSTER = f"arn:aws:ecs:{REGION_ACCOUNT}:cluster/smdemo"
BUCKET = "arn:aws:s3:::smdemo-trail"


class Account:
    """The calls tagged_with_run makes, answered for a run whose instance is terminated, two of three tasks
    stopped, its cluster INACTIVE, its task definition INACTIVE and one bucket retained; each call counted."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def __call__(self, service: str) -> Any:
        return self

    def get_paginator(self, operation: str) -> Any:
        account = self

        class Pages:
            def paginate(self, TagFilters: list) -> list[dict]:  # noqa: N803 - botocore's keyword
                account.calls["get_resources"] += 1
                assert TagFilters == [{"Key": RUN_ID_TAG, "Values": ["run-1"]}]
                arns = [INSTANCE, *TASKS, TASK_DEFINITION, CLUSTER, BUCKET]
                return [{"ResourceTagMappingList": [{"ResourceARN": arn} for arn in arns]}]

        return Pages()

    def describe_instances(self, InstanceIds: list[str]) -> dict:  # noqa: N803
        self.calls["describe_instances"] += 1
        return {"Reservations": [{"Instances": [{"InstanceId": InstanceIds[0], "State": {"Name": "terminated"}}]}]}

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict:
        self.calls["describe_tasks"] += 1
        return {"tasks": [{"taskArn": arn, "lastStatus": "STOPPED" if arn != TASKS[2] else "RUNNING"}
                          for arn in tasks]}

    def describe_clusters(self, clusters: list[str]) -> dict:
        self.calls["describe_clusters"] += 1
        return {"clusters": [{"clusterArn": arn, "status": "INACTIVE"} for arn in clusters]}

    def describe_task_definition(self, taskDefinition: str) -> dict:  # noqa: N803
        self.calls["describe_task_definition"] += 1
        return {"taskDefinition": {"status": "INACTIVE"}}


def test_what_is_still_there_and_each_service_asked_once():
    account = Account()
    assert tagged_with_run(account, "run-1") == [TASKS[2], BUCKET]
    assert account.calls == {"get_resources": 1, "describe_instances": 1, "describe_tasks": 1,
                             "describe_clusters": 1, "describe_task_definition": 1}
