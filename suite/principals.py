"""Throw-away IAM principals for the access checks: created tagged, always removed."""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from tenacity import retry, retry_if_exception, stop_after_delay, wait_fixed

from suite.credentials import Credentials
from suite.redaction import REGISTRY
from suite.targets import AwsTarget


def _not_yet_valid(error: BaseException) -> bool:
    # New IAM keys take a few seconds to work in AWS: InvalidClientTokenId until then.
    return isinstance(error, ClientError) and error.response["Error"]["Code"] in (
        "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException")


class Principal:
    def __init__(self, aws: AwsTarget, name: str):
        self.aws = aws
        self.name = name
        self.iam = aws.client("iam")
        self.iam.create_user(UserName=name, Tags=aws.tags)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.credentials = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
        REGISTRY.register(key["SecretAccessKey"])
        self.arn = self._wait_until_usable()

    @retry(stop=stop_after_delay(120), wait=wait_fixed(3), retry=retry_if_exception(_not_yet_valid), reraise=True)
    def _wait_until_usable(self) -> str:
        return self.aws.client("sts", self.credentials).get_caller_identity()["Arn"]

    def client(self, service: str) -> Any:
        return self.aws.client(service, self.credentials)

    def attach(self, policy_arn: str) -> None:
        self.iam.attach_user_policy(UserName=self.name, PolicyArn=policy_arn)

    def delete(self) -> None:
        for policy in self.iam.list_attached_user_policies(UserName=self.name)["AttachedPolicies"]:
            self.iam.detach_user_policy(UserName=self.name, PolicyArn=policy["PolicyArn"])
        for key in self.iam.list_access_keys(UserName=self.name)["AccessKeyMetadata"]:
            self.iam.delete_access_key(UserName=self.name, AccessKeyId=key["AccessKeyId"])
        self.iam.delete_user(UserName=self.name)
