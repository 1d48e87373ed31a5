"""CloudFormation resource type AWS::S3::BucketPolicy (skipped silently by moto 5.2.5).

AWS (CloudFormation user guide, AWS::S3::BucketPolicy): applies PolicyDocument to Bucket (a bucket
name) as PutBucketPolicy does; Ref returns the bucket name; deleting the resource deletes the
bucket's policy. Without it a trail's bucket has no policy at all, and CloudTrail refuses the
trail (localaws/ext/cloudtrail_bucket_policy.py).
"""
from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition


class CfnBucketPolicy(CloudFormationModel):
    def __init__(self, account_id: str, region: str, bucket: str):
        self.account_id = account_id
        self.region = region
        self.bucket = bucket

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.bucket

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnBucketPolicy":
        props = cloudformation_json["Properties"]
        document = props["PolicyDocument"]
        text = document if isinstance(document, str) else json.dumps(document)
        s3_backends[account_id][get_partition(region_name)].put_bucket_policy(props["Bucket"], text.encode())
        return cls(account_id, region_name, props["Bucket"])

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> None:
        bucket = cloudformation_json.get("Properties", {}).get("Bucket")
        if bucket:
            cls(account_id, region_name, bucket).delete(account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        try:
            s3_backends[account_id][get_partition(region_name)].delete_bucket_policy(self.bucket)
        except Exception:  # the bucket went first: its policy went with it
            pass
