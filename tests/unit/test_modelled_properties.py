"""The table of what the local AWS honours (localaws/ext/modelled_properties.py) and how a resource's
properties are compared with it; and the record the suite reads (localaws/not_modelled.py)."""
from __future__ import annotations

import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from localaws import not_modelled
from localaws.ext.modelled_properties import ALL, HONOURED, When, not_honoured


def listed(resource_type: str, properties: dict) -> list[str]:
    return sorted(set(not_honoured(resource_type, properties)))


def test_an_honoured_property_is_not_listed_and_an_other_one_is():
    assert listed("AWS::RDS::DBInstance", {"MasterUserPassword": "x", "Tags": [{"Key": "a", "Value": "b"}],
                                           "StorageEncrypted": True, "MultiAZ": False}) == [
        "AWS::RDS::DBInstance.MultiAZ", "AWS::RDS::DBInstance.StorageEncrypted"]


def test_a_type_the_table_does_not_know_has_every_property_listed():
    assert listed("AWS::SNS::Topic", {"TopicName": "t", "DisplayName": "d"}) == [
        "AWS::SNS::Topic.DisplayName", "AWS::SNS::Topic.TopicName"]


def test_a_property_resolved_to_no_value_is_not_there():
    assert listed("AWS::RDS::DBInstance", {"StorageEncrypted": None}) == []


def test_nested_members_are_listed_once_per_path_whatever_the_list_holds():
    containers = [{"Name": "a", "Image": "i", "Memory": 512, "HealthCheck": {"Command": ["true"]},
                   "PortMappings": [{"ContainerPort": 22, "Protocol": "tcp"}]},
                  {"Name": "b", "Image": "i", "Memory": 256, "PortMappings": [{"ContainerPort": 53, "Protocol": "udp"}],
                   "LogConfiguration": {"LogDriver": "awslogs",
                                        "Options": {"awslogs-group": "g", "mode": "non-blocking"}}}]
    assert listed("AWS::ECS::TaskDefinition", {"ContainerDefinitions": containers, "Cpu": "256"}) == [
        "AWS::ECS::TaskDefinition.ContainerDefinitions.HealthCheck",
        "AWS::ECS::TaskDefinition.ContainerDefinitions.LogConfiguration.Options.mode",
        "AWS::ECS::TaskDefinition.ContainerDefinitions.Memory",
        "AWS::ECS::TaskDefinition.ContainerDefinitions.PortMappings.Protocol"]


def test_a_setting_honoured_with_some_values_only_is_listed_with_the_others():
    assert listed("AWS::EC2::Instance", {"MetadataOptions": {"HttpTokens": "required"}}) == []
    assert listed("AWS::EC2::Instance", {"MetadataOptions": {"HttpTokens": "optional"}}) == [
        "AWS::EC2::Instance.MetadataOptions.HttpTokens"]


def test_each_parameter_of_a_parameter_group_is_a_setting_of_its_own():
    group = {"Family": "mysql8.0", "Description": "d",
             "Parameters": {"max_connections": "50", "require_secure_transport": "1"}}
    assert listed("AWS::RDS::DBParameterGroup", group) == [
        "AWS::RDS::DBParameterGroup.Parameters.max_connections",
        "AWS::RDS::DBParameterGroup.Parameters.require_secure_transport"]


def test_a_custom_resource_gives_its_function_every_property():
    assert listed("Custom::Seed", {"ServiceToken": "arn", "Anything": 1}) == []
    assert listed("AWS::CloudFormation::CustomResource", {"ServiceToken": "arn", "Anything": 1}) == []


@pytest.mark.parametrize("resource_type", sorted(HONOURED))
def test_the_table_names_only_properties_cloudformation_has(resource_type):
    """A misspelt entry would honour nothing and hide the real property: each one is in cfn-lint's
    provider schema of its type."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema

    def check(entry: dict, properties: dict, path: str) -> None:
        for name, inner in entry.items():
            assert name in properties, f"{path}.{name} is not a property CloudFormation has"
            if isinstance(inner, dict) and inner and path.count(".") < 3:
                found = properties[name]
                found = found.get("items", found)
                if "$ref" in found:
                    found = schema["definitions"][found["$ref"].rsplit("/", 1)[-1]]
                if found.get("properties"):  # a map of settings (patternProperties) names keys, not members
                    check(inner, found["properties"], f"{path}.{name}")

    check(HONOURED[resource_type], schema["properties"], resource_type)


def test_the_record_is_written_once_per_stack_and_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCALAWS_STATE_DIR", str(tmp_path))
    monkeypatch.setattr(not_modelled, "_seen", set())
    not_modelled.record("one", ["AWS::S3::Bucket.LifecycleConfiguration"])
    not_modelled.record("one", ["AWS::S3::Bucket.LifecycleConfiguration", "AWS::RDS::DBInstance.MultiAZ"])
    not_modelled.record("two", ["AWS::S3::Bucket.LifecycleConfiguration"])
    assert not_modelled.recorded(tmp_path) == [
        {"stack": "one", "setting": "AWS::S3::Bucket.LifecycleConfiguration"},
        {"stack": "one", "setting": "AWS::RDS::DBInstance.MultiAZ"},
        {"stack": "two", "setting": "AWS::S3::Bucket.LifecycleConfiguration"}]
    assert not_modelled.recorded(tmp_path / "elsewhere") == []


def test_a_setting_honoured_when_its_target_allows_is_listed_without_one():
    assert listed("AWS::EC2::Instance", {"ImageId": "ami-0123"}) == ["AWS::EC2::Instance.ImageId"]


def test_all_is_the_only_leaf_marker():
    def leaves(entry):
        for inner in entry.values():
            if isinstance(inner, dict):
                yield from leaves(inner)
            else:
                yield inner
    found = {leaf for entry in HONOURED.values() for leaf in leaves(entry)}
    assert {leaf for leaf in found if not isinstance(leaf, (frozenset, When))} == {ALL}


def test_an_instance_image_is_honoured_when_it_is_amazon_linux_2023():
    """The local hosts are Amazon Linux 2023 whatever the image: another image is not booted as itself."""
    import boto3
    from moto import mock_aws

    from localaws.ext.modelled_properties import Where

    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        images = ec2.describe_images(Owners=["amazon"])["Images"]
        al2023 = next(i["ImageId"] for i in images if i.get("Name", "").startswith("al2023-ami-"))
        other = next(i["ImageId"] for i in images if not i.get("Name", "").startswith("al2023-ami-"))
        where = Where("123456789012", "us-east-1")
        assert list(not_honoured("AWS::EC2::Instance", {"ImageId": al2023}, where)) == []
        assert list(not_honoured("AWS::EC2::Instance", {"ImageId": other}, where)) == ["AWS::EC2::Instance.ImageId"]


def test_an_engine_version_is_honoured_for_mysql_from_5_7():
    """The local MySQL answers as its EngineVersion from 5.7 on (localaws/database/server.py);
    MariaDB's is the server's own."""
    from localaws.ext.modelled_properties import Where

    where = Where("123456789012", "us-east-1")
    for engine, version, listed_ in (("mysql", "8.0.40", False), ("mysql", "8.4.3", False), ("MySQL", "5.7.44", False),
                                     ("mysql", "5.6.51", True), ("mariadb", "10.11.9", True)):
        found = list(not_honoured("AWS::RDS::DBInstance", {"Engine": engine, "EngineVersion": version}, where))
        assert found == (["AWS::RDS::DBInstance.EngineVersion"] if listed_ else []), (engine, version, found)
