"""CloudFormation resource type AWS::CloudTrail::Trail (skipped silently by moto 5.2.5).

AWS: creates the trail delivering to S3BucketName, with its EventSelectors or
AdvancedEventSelectors; IsLogging (required) starts or leaves it stopped; Ref returns the trail name,
GetAtt Arn the trail's ARN; deleting the resource deletes the trail.
"""
from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.cloudtrail.models import cloudtrail_backends
from moto.core.common_models import CloudFormationModel


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


class CfnTrail(CloudFormationModel):
    def __init__(self, account_id: str, region: str, name: str, arn: str):
        self.account_id = account_id
        self.region = region
        self.name = name
        self.arn = arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudTrail::Trail"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "TrailName"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "SnsTopicArn")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> "CfnTrail":
        props = cloudformation_json["Properties"]
        backend = cloudtrail_backends[account_id][region_name]
        name = props.get("TrailName") or resource_name
        trail = backend.create_trail(
            name=name,
            bucket_name=props["S3BucketName"],
            s3_key_prefix=props.get("S3KeyPrefix"),
            sns_topic_name=props.get("SnsTopicName"),
            is_global=_truthy(props.get("IncludeGlobalServiceEvents", True)),
            is_multi_region=_truthy(props.get("IsMultiRegionTrail", False)),
            log_validation=_truthy(props.get("EnableLogFileValidation", False)),
            is_org_trail=_truthy(props.get("IsOrganizationTrail", False)),
            cw_log_group_arn=props.get("CloudWatchLogsLogGroupArn"),
            cw_role_arn=props.get("CloudWatchLogsRoleArn"),
            kms_key_id=props.get("KMSKeyId"),
            tags_list=props.get("Tags", []),
        )
        if props.get("EventSelectors") or props.get("AdvancedEventSelectors"):
            backend.put_event_selectors(name, props.get("EventSelectors") or [],
                                        props.get("AdvancedEventSelectors") or [])
        if _truthy(props["IsLogging"]):
            backend.start_logging(name)
        return cls(account_id, region_name, name, trail.arn)

    def delete(self, account_id: str, region_name: str) -> None:
        cloudtrail_backends[account_id][region_name].delete_trail(self.name)
