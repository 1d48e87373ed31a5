"""Deploy and delete the workshop stack with boto3 (the same code for live and offline).

A deployment: the rotation function's zip is staged to an S3 bucket the deploy creates,
the stack is created from the workshop folder's `template.yaml`, tagged, awaited with CloudFormation's
waiters, and its outputs read. Deletion empties the buckets the stack and the deploy made,
deletes the stack, awaits it, and removes the secret for good.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from botocore.exceptions import ClientError, WaiterError

from suite.deploy.packaging import build_bastion_files, build_rotation_zip
from suite.workshop_folder import WorkshopFolder

log = logging.getLogger("workshop.deploy")

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
PROJECT_TAG = "smproj"
DELETE_ATTEMPTS = 3  # DeleteStack again after a bucket that filled up again (the trail's)


def run_tags(run_id: str) -> list[dict[str, str]]:
    """The tags of everything one run creates: the project's, and the run's own id."""
    return [{"Key": "Project", "Value": PROJECT_TAG},
            {"Key": "smdemo:run-id", "Value": run_id},
            {"Key": "smdemo:created-by", "Value": "smdemo-verification-suite"}]


class DeployError(RuntimeError):
    """The stack did not come up; the message lists CloudFormation's reasons."""


@dataclass
class StackSettings:
    stack_name: str
    secret_name: str
    name_prefix: str
    run_id: str
    waiter: dict[str, float] = field(default_factory=lambda: {"Delay": 15, "MaxAttempts": 160})  # WaiterConfig

    @property
    def tags(self) -> list[dict[str, str]]:
        return run_tags(self.run_id)

    @property
    def artifact_bucket(self) -> str:
        return f"{self.name_prefix}-artifacts-{self.run_id}".lower()[:63]


@dataclass
class WorkshopStack:
    """One deployment of the workshop. `client(service)` returns a boto3 client for the operator."""

    client: Callable[[str], Any]
    region: str
    workshop: WorkshopFolder
    settings: StackSettings
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def template_path(self) -> Path:
        return self.workshop.template

    def template_sha256(self) -> str:
        return hashlib.sha256(self.template_path.read_bytes()).hexdigest()

    def template_identity(self) -> str:
        return f"{self.template_path.name} sha256 {self.template_sha256()}"

    def deploy(self) -> dict[str, str]:
        code_key, files_key = self._stage_artifacts()
        cfn = self.client("cloudformation")
        cfn.create_stack(
            StackName=self.settings.stack_name,
            TemplateBody=self.template_path.read_text(),
            Parameters=self._parameters(code_key, files_key),
            Capabilities=["CAPABILITY_IAM"],
            OnFailure="DO_NOTHING",  # keep the failure reasons readable; delete() cleans up
            Tags=self.settings.tags,
        )
        try:
            cfn.get_waiter("stack_create_complete").wait(StackName=self.settings.stack_name,
                                                         WaiterConfig=self.settings.waiter)
        except WaiterError as error:
            raise DeployError(f"stack {self.settings.stack_name} did not reach CREATE_COMPLETE "
                              f"({error.last_response.get('Stacks', [{}])[0].get('StackStatus', 'unknown')}):\n"
                              + self._failure_reasons()) from None
        stack = cfn.describe_stacks(StackName=self.settings.stack_name)["Stacks"][0]
        self.outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
        return self.outputs

    def _parameters(self, code_key: str, files_key: str) -> list[dict[str, str]]:
        values = {
            "NamePrefix": self.settings.name_prefix,
            "SecretName": self.settings.secret_name,
            "RotationCodeBucket": self.settings.artifact_bucket,
            "RotationCodeKey": code_key,
            "BastionFilesKey": files_key,
            "BastionImageId": self._bastion_image_id(),
        }
        return [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]

    def _bastion_image_id(self) -> str:
        """The current Amazon Linux 2023 AMI, from AWS's public SSM parameter."""
        ssm = self.client("ssm")
        try:
            return ssm.get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]
        except ClientError:
            # Not every partition publishes the parameter: fall back to Amazon's own images.
            images = self.client("ec2").describe_images(Owners=["amazon"], Filters=[
                {"Name": "name", "Values": ["al2023-ami-*-x86_64", "amzn2-ami-hvm-*-x86_64-gp2"]}])["Images"]
            if not images:
                raise DeployError(f"no Amazon Linux image found in {self.region}: is the region right?")
            return sorted(images, key=lambda image: image.get("CreationDate", ""))[-1]["ImageId"]

    def _stage_artifacts(self) -> tuple[str, str]:
        """The rotation function's zip and the bastion's files, in the deploy's bucket: their keys."""
        s3 = self.client("s3")
        bucket = self.settings.artifact_bucket
        create: dict[str, Any] = {"Bucket": bucket}
        if self.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        s3.create_bucket(**create)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": self.settings.tags})
        keys = []
        for prefix, package, suffix in (
                ("rotation/rotation", build_rotation_zip(self.workshop.rotation), ".zip"),
                ("bastion/smdemo-files", build_bastion_files(self.workshop.docker, self.workshop.app), ".tar.gz")):
            key = f"{prefix}-{hashlib.sha256(package).hexdigest()[:16]}{suffix}"  # a new key for new contents
            s3.put_object(Bucket=bucket, Key=key, Body=package)
            keys.append(key)
        return keys[0], keys[1]

    def _failure_reasons(self, status: str = "FAILED", since: datetime | None = None) -> str:
        """The stack's events that ended in `status` (CREATE_FAILED ..., or only DELETE_FAILED),
        from `since` on."""
        cfn = self.client("cloudformation")
        lines = []
        try:
            for page in cfn.get_paginator("describe_stack_events").paginate(StackName=self.settings.stack_name):
                for event in page["StackEvents"]:
                    if event.get("ResourceStatus", "").endswith(status) and (since is None
                                                                             or event["Timestamp"] >= since):
                        lines.append(f"  {event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}")
        except ClientError as error:
            lines.append(f"  (events unavailable: {error.response['Error']['Code']})")
        return "\n".join(lines) or "  (CloudFormation gave no reason)"

    def delete(self) -> list[str]:
        """Remove everything the deployment created; safe to call after a failed deploy. Returns
        what did not go, in CloudFormation's words (empty: the stack is gone); every step is tried."""
        cfn = self.client("cloudformation")
        problems: list[str] = []
        trail_bucket = self.outputs.get("TrailBucketName")
        # The trail writes into its own bucket until CloudFormation deletes it, so a file can land
        # between emptying the bucket and deleting it (DELETE_FAILED: "not empty"): empty it again
        # and delete again, as often as that happens, within bounds.
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            began = datetime.now(timezone.utc) - timedelta(seconds=1)
            problems = self._empty_bucket(trail_bucket) if trail_bucket else []
            try:
                cfn.delete_stack(StackName=self.settings.stack_name)
                cfn.get_waiter("stack_delete_complete").wait(StackName=self.settings.stack_name,
                                                             WaiterConfig=self.settings.waiter)
                break
            except WaiterError as error:
                status = (error.last_response.get("Stacks") or [{}])[0].get("StackStatus", "unknown")
                reasons = self._failure_reasons("DELETE_FAILED", since=began)
                if attempt < DELETE_ATTEMPTS and "not empty" in reasons:
                    continue
                problems.append(f"stack {self.settings.stack_name} is {status}:\n{reasons}")
            except ClientError as error:
                problems.append(f"deleting stack {self.settings.stack_name} failed: {error}")
            break
        problems += self._delete_secret_for_good()
        problems += self._empty_bucket(self.settings.artifact_bucket, delete=True)
        for problem in problems:
            log.error("%s", problem)
        return problems

    def _delete_secret_for_good(self) -> list[str]:
        # CloudFormation may leave the secret scheduled for deletion; a per-run name must not linger.
        try:
            self.client("secretsmanager").delete_secret(SecretId=self.settings.secret_name,
                                                        ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                return [f"deleting secret {self.settings.secret_name} failed: {error}"]
        return []

    def _empty_bucket(self, bucket: str, delete: bool = False) -> list[str]:
        s3 = self.client("s3")
        try:
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
                doomed = [{"Key": item["Key"], "VersionId": item["VersionId"]}
                          for item in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                if doomed:
                    s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
            if delete:
                s3.delete_bucket(Bucket=bucket)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchBucket":
                return [f"{'deleting' if delete else 'emptying'} bucket {bucket} failed: {error}"]
        return []
