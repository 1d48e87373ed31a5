"""Which CloudFormation properties the local AWS honours, per resource type; every other one is
"not modelled offline" and said so (localaws/ext/cfn_not_modelled.py records them per stack).

Honoured means the local AWS does with the property what AWS does, as far as a check can see:
it applies it (a password the database checks, groups the network enforces, a schedule that
rotates, a role the sandbox acts as), or keeps it where AWS's own answers are its whole effect
(names, descriptions, tags, ARNs other resources name), or refuses its wrong values with AWS's
rule (localaws/ext/service_rules.py, rds_databases.py). A property whose effect in AWS is a
behaviour the local AWS does not perform (encryption at rest, backups, Multi-AZ, capacity,
minor-version upgrades, log file digests, object expiry) is not honoured even when a Describe
answer echoes it back: offline cannot prove that behaviour.

Built by reading what moto 5.2.5's create_from_cloudformation_json does with each property
(moto/<service>/models.py) and what the project's ext/ modules (named per type) add. A type not
in the table has no property honoured; a property not in its entry is not honoured.
Entry values:
- ALL: the property, and whatever it holds, is honoured.
- a dict: an object (or each object of a list) whose listed members are honoured as above; for
  a map whose keys are settings (a parameter group's Parameters, a log driver's Options) the
  keys it names are honoured, and each other key is listed on its own.
- a frozenset (only(...)): honoured with these values only (the one behaviour the local AWS has).
- a When: honoured when its test, asked about the value in the stack's account and region, says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

ALL = "all"


def only(*values: Any) -> frozenset[str]:
    return frozenset(str(value).lower() for value in values)


@dataclass(frozen=True)
class Where:
    account_id: str
    region: str
    properties: dict[str, Any] = field(default_factory=dict, compare=False)  # the resource's own, resolved


@dataclass(frozen=True)
class When:
    """Honoured for the values its test accepts (what the local AWS can do depends on the value's target)."""
    test: Callable[[Any, Where], bool]
    says: str  # which values, for the reader


def _mysql_version(version: Any, where: Where) -> bool:
    """A MySQL instance's server answers as its EngineVersion from 5.7 on (localaws/database/server.py): VERSION(),
    the greeting, MySQL's password statements and login plugin; other MySQL-only SQL is MariaDB's (README)."""
    from localaws.database.server import FRONTED_FROM, _numbers

    return str(where.properties.get("Engine", "")).lower() == "mysql" and _numbers(str(version)) >= FRONTED_FROM


def _amazon_linux_2023(image_id: Any, where: Where) -> bool:
    """Every local instance is an Amazon Linux 2023 host (ec2_hosts.py, instance_software.py): only an
    AL2023 image is booted as what it is."""
    from moto.ec2.models import ec2_backends

    try:
        image = ec2_backends[where.account_id][where.region].describe_images(ami_ids=[str(image_id)])[0]
    except Exception:  # noqa: BLE001 - an image the local AWS does not know is not one it boots as itself
        return False
    return str(getattr(image, "name", "") or "").startswith("al2023-ami-")


TAGS = {"Tags": ALL}  # kept and answered (DescribeTags, ListTagsForResource, the tagging API)

HONOURED: dict[str, dict[str, Any]] = {
    # moto's VPC; cfn_ecs.py applies the DNS attributes, which the network model reads for endpoints.
    "AWS::EC2::VPC": {"CidrBlock": ALL, "EnableDnsSupport": ALL, "EnableDnsHostnames": ALL, **TAGS},
    "AWS::EC2::InternetGateway": {**TAGS},  # Tags here and below: cfn_dropped_properties.py
    "AWS::EC2::VPCGatewayAttachment": {"VpcId": ALL, "InternetGatewayId": ALL},
    # cfn_subnet_public_ip.py applies MapPublicIpOnLaunch (hosts get a public IP from it).
    "AWS::EC2::Subnet": {"VpcId": ALL, "CidrBlock": ALL, "AvailabilityZone": ALL, "MapPublicIpOnLaunch": ALL, **TAGS},
    "AWS::EC2::RouteTable": {"VpcId": ALL, **TAGS},
    # network_paths.py follows routes to an internet gateway.
    "AWS::EC2::Route": {"RouteTableId": ALL, "DestinationCidrBlock": ALL, "GatewayId": ALL},
    "AWS::EC2::SubnetRouteTableAssociation": {"RouteTableId": ALL, "SubnetId": ALL},
    # Rules are enforced at the data plane (host_network.py); cfn_security_group_egress.py for egress.
    "AWS::EC2::SecurityGroup": {
        "GroupDescription": ALL, "VpcId": ALL, **TAGS,
        "SecurityGroupIngress": {"IpProtocol": only("tcp", "-1"), "FromPort": ALL, "ToPort": ALL, "CidrIp": ALL,
                                 "SourceSecurityGroupId": ALL, "Description": ALL},  # cfn_dropped_properties.py
        "SecurityGroupEgress": {"IpProtocol": only("tcp", "-1"), "FromPort": ALL, "ToPort": ALL, "CidrIp": ALL,
                                "DestinationSecurityGroupId": ALL, "DestinationPrefixListId": ALL,
                                "Description": ALL},
    },
    "AWS::EC2::SecurityGroupIngress": {"GroupId": ALL, "IpProtocol": only("tcp", "-1"), "FromPort": ALL,
                                       "ToPort": ALL, "CidrIp": ALL, "SourceSecurityGroupId": ALL,
                                       "Description": ALL},
    "AWS::EC2::SecurityGroupEgress": {"GroupId": ALL, "IpProtocol": only("tcp", "-1"), "FromPort": ALL,
                                      "ToPort": ALL, "CidrIp": ALL, "DestinationSecurityGroupId": ALL,
                                      "DestinationPrefixListId": ALL, "Description": ALL},
    # Interface endpoints carry the network model's paths to a service (network_paths.py).
    "AWS::EC2::VPCEndpoint": {"VpcId": ALL, "ServiceName": ALL, "VpcEndpointType": only("Interface"),
                              "SubnetIds": ALL, "SecurityGroupIds": ALL, "PrivateDnsEnabled": ALL, **TAGS},
    # ec2_hosts.py: a key pair imported from PublicKeyMaterial is the key sshd takes.
    "AWS::EC2::KeyPair": {"KeyName": ALL, "PublicKeyMaterial": ALL, **TAGS},
    # ec2_hosts.py, instance_boot.py, instance_metadata.py: a real host; its metadata service always
    # asks for a token (IMDSv2), so only HttpTokens required and the endpoint enabled are what it does.
    "AWS::EC2::Instance": {"ImageId": When(_amazon_linux_2023, "an Amazon Linux 2023 image"), "KeyName": ALL,
                           "SubnetId": ALL, "SecurityGroupIds": ALL, "IamInstanceProfile": ALL, "UserData": ALL, **TAGS,
                           "MetadataOptions": {"HttpTokens": only("required"), "HttpEndpoint": only("enabled")}},
    # iam_enforcement.py evaluates the policies; ManagedPolicyArns: cfn_dropped_properties.py.
    "AWS::IAM::Role": {"RoleName": ALL, "AssumeRolePolicyDocument": ALL, "Policies": ALL, "ManagedPolicyArns": ALL,
                       "Path": ALL, "Description": ALL, **TAGS},
    "AWS::IAM::ManagedPolicy": {"ManagedPolicyName": ALL, "PolicyDocument": ALL, "Roles": ALL, "Users": ALL,
                                "Groups": ALL, "Path": ALL, "Description": ALL},
    "AWS::IAM::InstanceProfile": {"Roles": ALL, "Path": ALL, "InstanceProfileName": ALL},
    # lambda_runtime.py, lambda_network.py, lambda_runtime_lifecycle.py: the code runs in a sandbox shaped
    # like the runtime, with its environment, memory size (as the runtime reports it), timeout, VPC.
    "AWS::Lambda::Function": {"Code": ALL, "FunctionName": ALL, "Handler": ALL, "Role": ALL, "Runtime": ALL,
                              "Environment": ALL, "MemorySize": ALL, "Timeout": ALL, "VpcConfig": ALL,
                              "Description": ALL, **TAGS},
    "AWS::Lambda::Permission": {"Action": ALL, "FunctionName": ALL, "Principal": ALL, "SourceAccount": ALL,
                                "SourceArn": ALL},  # lambda_invoke_permissions.py
    # ecs_tasks.py uses the execution log group as AWS's agent does; retention is never reached in a run.
    "AWS::Logs::LogGroup": {"LogGroupName": ALL, **TAGS},
    # rds_databases.py: a real server with the master user and password, its port and database, reached
    # through its subnets and groups; storage size and type are checked as RDS does.
    "AWS::RDS::DBInstance": {
        "DBInstanceIdentifier": ALL, "Engine": only("mysql", "mariadb"), "MasterUsername": ALL,
        "MasterUserPassword": ALL, "DBName": ALL, "Port": ALL, "DBSubnetGroupName": ALL, "VPCSecurityGroups": ALL,
        "EngineVersion": When(_mysql_version, "MySQL 5.7 and later"),
        "PubliclyAccessible": ALL, "AllocatedStorage": ALL, "StorageType": ALL, "DeletionProtection": ALL,
        "DBParameterGroupName": ALL, "OptionGroupName": ALL, **TAGS,
    },
    "AWS::RDS::DBSubnetGroup": {"DBSubnetGroupName": ALL, "DBSubnetGroupDescription": ALL, "SubnetIds": ALL,
                                **TAGS},  # two zones: service_rules.py
    # cfn_resource_types.py: kept and answered; no parameter reaches the database server.
    "AWS::RDS::DBParameterGroup": {"Description": ALL, "Family": ALL, "DBParameterGroupName": ALL, **TAGS,
                                   "Parameters": {}},
    "AWS::RDS::OptionGroup": {"EngineName": ALL, "MajorEngineVersion": ALL, "OptionGroupDescription": ALL, **TAGS},
    # cfn_secretsmanager.py, secrets_rotation.py: generated values, rotation by the function on schedule.
    "AWS::SecretsManager::Secret": {"Name": ALL, "Description": ALL, "SecretString": ALL, "GenerateSecretString": ALL,
                                    "KmsKeyId": ALL, **TAGS},  # kms_secret_encryption.py
    "AWS::SecretsManager::SecretTargetAttachment": {"SecretId": ALL, "TargetId": ALL,
                                                    "TargetType": only("AWS::RDS::DBInstance")},
    "AWS::SecretsManager::RotationSchedule": {"SecretId": ALL, "RotationLambdaARN": ALL, "RotationRules": ALL,
                                              "RotateImmediatelyOnUpdate": ALL},
    # ecr_blobs.py, ecr_layer_downloads.py, cfn_stack_deletion.py (EmptyOnDelete).
    "AWS::ECR::Repository": {"RepositoryName": ALL, "EmptyOnDelete": ALL, **TAGS},
    "AWS::ECS::Cluster": {"ClusterName": ALL, **TAGS},
    # cfn_ecs.py keeps the task-level fields; ecs_tasks.py runs the container with its image, command,
    # environment, secrets (resolved as the execution role), port and awslogs log driver, as the task role.
    "AWS::ECS::TaskDefinition": {
        # Every local task runs as a Fargate task does, its container as an essential one.
        "Family": ALL, "RequiresCompatibilities": only("FARGATE"), "NetworkMode": only("awsvpc"), "Cpu": ALL,
        "Memory": ALL,
        "ExecutionRoleArn": ALL, "TaskRoleArn": ALL, **TAGS,  # Cpu and Memory: Fargate's sizes, service_rules.py
        "ContainerDefinitions": {
            "Name": ALL, "Image": ALL, "Essential": only(True), "Environment": ALL, "Secrets": ALL, "Command": ALL,
            "EntryPoint": ALL, "PortMappings": {"ContainerPort": ALL, "Protocol": only("tcp")},
            "LogConfiguration": {"LogDriver": only("awslogs"),
                                 "Options": {"awslogs-group": ALL, "awslogs-region": ALL,
                                             "awslogs-stream-prefix": ALL, "awslogs-create-group": ALL}},
        },
    },
    # cfn_s3_bucket_policy.py, s3_bucket_policy_conditions.py, cloudtrail_bucket_policy.py.
    "AWS::S3::Bucket": {"BucketName": ALL, **TAGS},
    "AWS::S3::BucketPolicy": {"Bucket": ALL, "PolicyDocument": ALL},
    # cfn_cloudtrail.py, cloudtrail_events/: events recorded as the trail's selectors take them.
    "AWS::CloudTrail::Trail": {"TrailName": ALL, "S3BucketName": ALL, "IsLogging": ALL, "AdvancedEventSelectors": ALL,
                               "EventSelectors": {"ReadWriteType": ALL, "IncludeManagementEvents": ALL,
                                                  "ExcludeManagementEventSources": ALL},
                               **TAGS},
    "AWS::KMS::Key": {"KeyPolicy": ALL, "Description": ALL, "Enabled": ALL, **TAGS},  # cfn_kms_key.py
    "AWS::KMS::Alias": {"AliasName": ALL, "TargetKeyId": ALL},
    "AWS::SSM::Parameter": {"Name": ALL, "Type": ALL, "Value": ALL, "Description": ALL, **TAGS},
}


def not_honoured(resource_type: str, properties: dict[str, Any], where: Where | None = None) -> Iterator[str]:
    """Each property of a resource (as CloudFormation resolved it) the local AWS does not honour, as
    TYPE.Path (a list's items share one path). A custom resource's properties all reach its function.
    `where`: the stack's account and region, for the tests of When entries (without it, they fail)."""
    if resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource":
        return
    yield from _walk(resource_type, properties, HONOURED.get(resource_type, {}),
                     replace(where, properties=properties) if where else None)


def _walk(path: str, value: Any, honoured: Any, where: Where | None) -> Iterator[str]:
    if honoured == ALL:
        return
    if isinstance(honoured, frozenset):
        if not _among(value, honoured):
            yield path
        return
    if isinstance(honoured, When):
        if where is None or not honoured.test(value, where):
            yield path
        return
    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict):
            yield path  # a value where the table expects members: not what the table vouches for
            continue
        for name, inner in item.items():
            if inner is None:  # AWS::NoValue: not there
                continue
            if name not in honoured:
                yield f"{path}.{name}"
            else:
                yield from _walk(f"{path}.{name}", inner, honoured[name], where)


def _among(value: Any, values: frozenset[str]) -> bool:
    items = value if isinstance(value, list) else [value]
    return all(str(item).lower() in values for item in items)
