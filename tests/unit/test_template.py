"""Checks on workshop/template.yaml, read as YAML: cfn-lint, parameters and outputs, the secret
and its rotation, the database, network, bastion, containers and trail: this project's design, value
by value. Least privilege is in test_template_privileges.py, what moto makes of the template in
test_template_in_moto.py. The controls any workshop's template must meet (cfn-lint's errors, checkov,
suite/controls/template.py's control_problems) are the Template phase's (tests/template), which reads
the workshop under test; here, what those controls are made of is tested on small templates.
"""

from __future__ import annotations

import re
import sys

import pytest

from suite.background import BackgroundProcess
from suite.controls import linters
from suite.controls import template as tc
from tests.support.template_file import REQUIRED_PARAMS, TEMPLATE_PATH, props

EXPECTED_OUTPUTS = {
    "VpcId", "SubnetIds", "BastionSGId", "TaskSGId", "DBSGId", "RotationFunctionSGId", "DBInstanceId",
    "DBEndpointAddress", "DBEndpointPort", "DBName", "SecretArn", "SecretName", "SecretReadOnlyPolicyArn",
    "ContainerUserSecretArn", "AppUserSecretArn", "DemoUserSecretArn", "DemoUserRoleArn", "DemoUserReadPolicyArn",
    "RotationFunctionName", "RotationFunctionArn", "RotationFunctionRoleArn", "BastionInstanceId",
    "BastionPublicIp", "BastionRoleArn", "ECRRepositoryName", "ECRRepositoryUri", "ClusterName",
    "TaskDefinitionArn", "TaskExecutionRoleArn", "TaskRoleArn", "TaskLogGroupName", "TrailName",
    "TrailBucketName",
}


# --------------------------------------------------------------------------- syntax / lint


def test_long_form_only(text, template):
    # yaml.safe_load already refuses unknown tags; also make the intent explicit.
    short_tags = [ln for ln in text.splitlines()
                  if re.search(r"(^|[\s:\-\[,])!(Ref|Sub|GetAtt|Join|Select|If|Equals|Not|Base64|GetAZs|Split|"
                               r"FindInMap|ImportValue|And|Or|Condition)\b", ln)]
    assert short_tags == []
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"


# cfn-lint 1.5x's I4010 asks every template for a Metadata block describing it to AI assistants
# (com.aws.cloudformation.Context): informational, and not about what the template does.
NOT_ABOUT_THE_TEMPLATE = {"I4010"}


def test_cfn_lint_reports_nothing():
    """The Template phase fails on cfn-lint's errors; this project's template has no warning or informational
    finding either, in the phase's regions (moto's validate_template fails on any match, warnings included)."""
    findings = linters.cfn_lint(TEMPLATE_PATH, TEMPLATE_PATH.parents[1])
    assert [str(f) for f in findings if f.rule not in NOT_ABOUT_THE_TEMPLATE] == []


# --------------------------------------------------------------------------- parameters / outputs


def test_parameters(template):
    p = template["Parameters"]
    assert set(p) == {
        "NamePrefix", "ProjectTag", "SecretName", "DBName", "DBPort", "DBInstanceClass",
        "BastionImageId", "RotationCodeBucket", "RotationCodeKey", "BastionFilesKey", "AdminCidr", "BastionPublicKey",
    }
    assert p["NamePrefix"]["Default"] == "smdemo"
    assert p["ProjectTag"]["Default"] == "smproj"
    assert p["SecretName"]["Default"] == "smdemo"
    assert p["DBName"]["Default"] == "smdemo"
    assert p["DBPort"] == {**p["DBPort"], "Type": "Number", "Default": 3306, "MinValue": 1024, "MaxValue": 65535}
    assert p["DBInstanceClass"]["Default"] == "db.t3.micro"
    assert p["BastionImageId"]["Type"] == "AWS::EC2::Image::Id" and "Default" not in p["BastionImageId"]
    assert p["AdminCidr"]["Default"] == "127.0.0.1/32"
    assert p["BastionPublicKey"]["Default"] == ""


def test_parameter_constraints(template):
    assert tc.parameter_value_problems(template, REQUIRED_PARAMS) == []
    assert tc.parameter_value_problems(template, {**REQUIRED_PARAMS, "AdminCidr": "203.0.113.7/32",
                                                  "DBPort": "5432"}) == []
    bad = tc.parameter_value_problems(
        template,
        {**REQUIRED_PARAMS, "AdminCidr": "0.0.0.0", "DBPort": "80", "NamePrefix": "Bad_Prefix", "Nope": "x"},
    )
    assert any(b.startswith("AdminCidr") for b in bad)
    assert any(b.startswith("DBPort") for b in bad)
    assert any(b.startswith("NamePrefix") for b in bad)
    assert any(b.startswith("Nope") for b in bad)
    missing = tc.parameter_value_problems(template, {})
    assert sorted(m.split(":")[0] for m in missing) == sorted(REQUIRED_PARAMS)
    for cidr in ("10.0.0.0/8", "192.168.1.1/32", "255.255.255.255/0"):
        assert tc.parameter_value_problems(template, {**REQUIRED_PARAMS, "AdminCidr": cidr}) == []
    for cidr in ("256.1.1.1/32", "1.2.3.4/33", "1.2.3/24", "1.2.3.4/32 "):
        assert tc.parameter_value_problems(template, {**REQUIRED_PARAMS, "AdminCidr": cidr}) != []


def test_outputs(template):
    outs = template["Outputs"]
    assert set(outs) == EXPECTED_OUTPUTS
    assert outs["SecretArn"]["Value"] == {"Ref": "DBSecret"}
    assert outs["DBEndpointAddress"]["Value"] == {"Fn::GetAtt": ["DBInstance", "Endpoint.Address"]}
    assert outs["DBEndpointPort"]["Value"] == {"Fn::GetAtt": ["DBInstance", "Endpoint.Port"]}
    assert outs["BastionPublicIp"]["Value"] == {"Fn::GetAtt": ["Bastion", "PublicIp"]}
    assert outs["ECRRepositoryUri"]["Value"] == {"Fn::GetAtt": ["Repo", "RepositoryUri"]}
    assert outs["SubnetIds"]["Value"] == {"Fn::Join": [",", [{"Ref": "Subnet1"}, {"Ref": "Subnet2"}]]}


# --------------------------------------------------------------------------- secret, rotation, database


def test_secret(template):
    p = props(template, "DBSecret")
    assert p["Name"] == {"Ref": "SecretName"}
    g = p["GenerateSecretString"]
    assert g["SecretStringTemplate"] == {
        "Fn::Sub": '{"username": "smadmin", "engine": "mysql", "dbname": "${DBName}"}'
    }
    assert g["GenerateStringKey"] == "password" and g["PasswordLength"] == 32
    assert tc.EXCLUDED_CHARACTERS <= set(g["ExcludeCharacters"])
    env = props(template, "RotationFunction")["Environment"]["Variables"]
    assert env["EXCLUDE_CHARACTERS"] == g["ExcludeCharacters"]
    assert env["PASSWORD_LENGTH"] == "32"
    assert env["SECRETS_MANAGER_ENDPOINT"] == {"Fn::Sub": "https://secretsmanager.${AWS::Region}.amazonaws.com"}


def test_rotation_schedule(template):
    res = template["Resources"]["RotationSchedule"]
    p = res["Properties"]
    assert p["SecretId"] == {"Ref": "DBSecret"}
    assert p["RotationLambdaARN"] == {"Fn::GetAtt": ["RotationFunction", "Arn"]}
    assert p["RotateImmediatelyOnUpdate"] is False
    assert set(res["DependsOn"]) == {"SecretAttachment", "RotationFunctionPermission"}
    perm = props(template, "RotationFunctionPermission")
    assert perm["Principal"] == "secretsmanager.amazonaws.com"
    assert perm["SourceAccount"] == {"Ref": "AWS::AccountId"}
    att = props(template, "SecretAttachment")
    assert att == {"SecretId": {"Ref": "DBSecret"}, "TargetId": {"Ref": "DBInstance"},
                   "TargetType": "AWS::RDS::DBInstance"}


def test_rotation_schedule_checker_catches_bad_values():
    def sched(**p):
        return {"Resources": {"S": {"Type": "AWS::SecretsManager::RotationSchedule", "Properties": p}}}
    assert tc.rotation_schedule_problems(sched(RotateImmediatelyOnUpdate="false",
                                               RotationRules={"AutomaticallyAfterDays": 30})) == []
    assert tc.rotation_schedule_problems(sched(RotationRules={"AutomaticallyAfterDays": 30}))  # default is true
    assert tc.rotation_schedule_problems(sched(RotateImmediatelyOnUpdate=False,
                                               RotationRules={"AutomaticallyAfterDays": 31}))
    assert tc.rotation_schedule_problems(sched(RotateImmediatelyOnUpdate=False,
                                               RotationRules={"AutomaticallyAfterDays": 0}))
    assert tc.rotation_schedule_problems({"Resources": {}})
    assert tc.rotation_schedule_problems(sched(RotateImmediatelyOnUpdate=False,
                                               RotationRules={"ScheduleExpression": "rate(4 hours)"})) == []
    assert tc.rotation_schedule_problems(sched(RotateImmediatelyOnUpdate=False,
                                               RotationRules={"ScheduleExpression": "rate(45 days)"}))


def test_rotation_function(template):
    p = props(template, "RotationFunction")
    assert p["Runtime"] == "python3.12"
    assert p["Handler"] == "rotation_function.lambda_handler"
    assert p["Code"] == {"S3Bucket": {"Ref": "RotationCodeBucket"}, "S3Key": {"Ref": "RotationCodeKey"}}
    assert p["Timeout"] == 60
    assert p["VpcConfig"] == {"SubnetIds": [{"Ref": "Subnet1"}, {"Ref": "Subnet2"}],
                              "SecurityGroupIds": [{"Ref": "RotationFunctionSG"}]}
    assert props(template, "RotationFunctionLogGroup")["RetentionInDays"] == 3
    assert "SecurityGroupIngress" not in props(template, "RotationFunctionSG")


def test_db_instance(template):
    res = template["Resources"]["DBInstance"]
    p = res["Properties"]
    assert res["DeletionPolicy"] == "Delete" and res["UpdateReplacePolicy"] == "Delete"
    assert p["Engine"] == "mysql" and str(p["EngineVersion"]).startswith("8.0")
    assert p["PubliclyAccessible"] is False and p["MultiAZ"] is False
    assert p["StorageEncrypted"] is True and p["StorageType"] == "gp3"
    assert p["BackupRetentionPeriod"] == 0 and p["DeletionProtection"] is False
    assert p["VPCSecurityGroups"] == [{"Ref": "DBSG"}]
    assert p["Port"] == {"Ref": "DBPort"} and p["DBName"] == {"Ref": "DBName"}
    assert p["MasterUsername"] == {"Fn::Sub": "{{resolve:secretsmanager:${DBSecret}:SecretString:username}}"}
    assert p["MasterUserPassword"] == {"Fn::Sub": "{{resolve:secretsmanager:${DBSecret}:SecretString:password}}"}


def test_public_db_checker():
    def db(**p):
        return {"Resources": {"D": {"Type": "AWS::RDS::DBInstance", "Properties": p}}}
    assert tc.publicly_accessible_db_instances(db(PubliclyAccessible="false")) == []
    assert tc.publicly_accessible_db_instances(db(PubliclyAccessible=True)) == ["D"]
    assert tc.publicly_accessible_db_instances(db()) == ["D"]  # default depends on the subnets
    assert tc.publicly_accessible_db_instances(db(PubliclyAccessible={"Ref": "P"})) == ["D"]


# --------------------------------------------------------------------------- network, bastion


def test_network(template):
    assert props(template, "VPC")["CidrBlock"] == "10.200.0.0/16"
    assert props(template, "VPC")["EnableDnsSupport"] is True and props(template, "VPC")["EnableDnsHostnames"] is True
    azs = []
    for lid, cidr in (("Subnet1", "10.200.11.0/24"), ("Subnet2", "10.200.12.0/24")):
        p = props(template, lid)
        assert p["CidrBlock"] == cidr and p["MapPublicIpOnLaunch"] is True
        azs.append(p["AvailabilityZone"]["Fn::Select"][0])
        assert p["AvailabilityZone"]["Fn::Select"][1] == {"Fn::GetAZs": ""}
    assert azs == [0, 1]
    assert props(template, "DefaultRoute")["DestinationCidrBlock"] == "0.0.0.0/0"
    ep = props(template, "SecretsManagerEndpoint")
    assert ep["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"}
    assert ep["PrivateDnsEnabled"] is True and ep["VpcEndpointType"] == "Interface"
    assert ep["SecurityGroupIds"] == [{"Ref": "EndpointSG"}]


def test_security_groups(template):
    def rules(lid):
        return [(r["IpProtocol"], r["FromPort"], r["ToPort"], r.get("CidrIp"))
                for r in props(template, lid).get("SecurityGroupIngress", [])]
    assert rules("BastionSG") == []  # attendees use Session Manager
    ssh = template["Resources"]["BastionSSHFromAdmin"]
    assert ssh["Condition"] == "HasBastionKey"  # only a deployment with its own key (the suite's) opens SSH
    assert (ssh["Properties"]["GroupId"], ssh["Properties"]["FromPort"], ssh["Properties"]["ToPort"],
            ssh["Properties"]["CidrIp"]) == ({"Ref": "BastionSG"}, 22, 22, {"Ref": "AdminCidr"})
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"], r["SourceSecurityGroupId"])
            for r in props(template, "TaskSG")["SecurityGroupIngress"]] == [("tcp", 22, 22, {"Ref": "BastionSG"})]
    assert rules("DBSG") == [("tcp", {"Ref": "DBPort"}, {"Ref": "DBPort"}, "10.200.0.0/16")]
    assert rules("EndpointSG") == [("tcp", 443, 443, "10.200.0.0/16")]
    assert rules("RotationFunctionSG") == []
    self_rules = {lid: p["Properties"] for lid, p in tc.resources(template, "AWS::EC2::SecurityGroupIngress").items()}
    assert self_rules["DBSGSelfIngress"]["GroupId"] == self_rules["DBSGSelfIngress"]["SourceSecurityGroupId"] \
        == {"Ref": "DBSG"}
    # nothing but the bastion's SSH rule (with a key) is open to an address outside the VPC
    for lid, res in tc.resources(template, "AWS::EC2::SecurityGroup").items():
        for r in res["Properties"].get("SecurityGroupIngress", []):
            assert r.get("CidrIp") == "10.200.0.0/16" or "SourceSecurityGroupId" in r, lid
    for lid, res in tc.resources(template, "AWS::EC2::SecurityGroupIngress").items():
        assert res["Properties"].get("CidrIp") in (None, {"Ref": "AdminCidr"}), lid


def test_bastion(template):
    p = props(template, "Bastion")
    assert p["ImageId"] == {"Ref": "BastionImageId"} and p["InstanceType"] == "t3.micro"
    assert p["SubnetId"] == {"Ref": "Subnet1"} and p["SecurityGroupIds"] == [{"Ref": "BastionSG"}]
    assert p["KeyName"] == {"Fn::If": ["HasBastionKey", {"Ref": "BastionKeyPair"}, {"Ref": "AWS::NoValue"}]}
    assert template["Resources"]["BastionKeyPair"]["Condition"] == "HasBastionKey"
    assert {"Key": "Name", "Value": {"Fn::Sub": "${NamePrefix}-host"}} in p["Tags"]
    user_data = p["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert (user_data.startswith("#!/bin/bash") and "dnf install" in user_data and "mariadb" in user_data
            and "jq" in user_data)
    # the workshop's files come from the deploy's staged copy of docker/, and become ec2-user's
    assert 's3://${RotationCodeBucket}/${BastionFilesKey}' in user_data
    assert "sudo -u ec2-user tar -xzf" in user_data and "-C /home/ec2-user" in user_data
    assert p["MetadataOptions"]["HttpTokens"] == "required"


def test_taggable_types_come_from_cloudformations_schemas(template):
    """The Template phase's tag control reads which types take Tags from cfn-lint's copy of the schemas."""
    taggable = tc.taggable_types(template)
    assert "AWS::SecretsManager::Secret" in taggable and "AWS::IAM::InstanceProfile" not in taggable
    assert tc.taggable_types({"Resources": {"X": {"Type": "AWS::Nothing::Here"}}}) == set()
    untagged = {"Resources": {"S": {"Type": "AWS::SecretsManager::Secret", "Properties": {}}}}
    assert tc.resources_missing_project_tag(untagged, tc.taggable_types(untagged)) == ["S"]


def test_the_cfn_lint_process_reads_the_same_taggable_types(template, tmp_path):
    """The Template phase's cfn-lint process, which has imported cfn-lint, answers the tag control's taggable types
    (the run's own process then never imports it): the same set; none for a file that is no template, where the
    phase's fixture reads them itself (and the controls' check says what is wrong)."""
    running = linters.RunningCfnLint(TEMPLATE_PATH, TEMPLATE_PATH.parent)
    try:
        assert running.taggable_types() == tc.taggable_types(template)
        assert running.result() == linters.cfn_lint(TEMPLATE_PATH, TEMPLATE_PATH.parent)
    finally:
        running.stop()
    not_a_template = tmp_path / "template.yaml"
    not_a_template.write_text("Resources: [\n")
    broken = linters.RunningCfnLint(not_a_template, tmp_path)
    try:
        assert broken.taggable_types() is None
    finally:
        broken.stop()


def test_a_cfn_lint_process_that_fails_says_so_to_its_check_after_the_tag_control_asked(tmp_path):
    """Its output is read once: whichever asks first, the tag control reads the types itself and cfn-lint's check
    still gets cfn-lint's failure in its own words."""
    running = linters.RunningCfnLint(TEMPLATE_PATH, TEMPLATE_PATH.parent)
    running.stop()
    running.background = BackgroundProcess([sys.executable, "-c", "import sys; sys.exit('cfn-lint could not start')"])
    try:
        assert running.taggable_types() is None
        with pytest.raises(RuntimeError, match="cfn-lint exited 1: cfn-lint could not start"):
            running.result()
    finally:
        running.stop()


# --------------------------------------------------------------------------- containers, trail


def test_task_definition(template):
    p = props(template, "TaskDefinition")
    assert p["Family"] == {"Fn::Sub": "${NamePrefix}-task"}
    assert p["RequiresCompatibilities"] == ["FARGATE"] and p["NetworkMode"] == "awsvpc"
    assert (str(p["Cpu"]), str(p["Memory"])) == ("1024", "4096")
    (c,) = p["ContainerDefinitions"]
    assert c["Name"] == "smdemo" and c["Memory"] == 4096
    assert c["Image"] == {"Fn::Sub": "${Repo.RepositoryUri}:latest"}
    assert c["PortMappings"][0]["ContainerPort"] == 22
    assert c["Environment"] == [{"Name": "TASKDEF_ENVVAR", "Value": "TASKDEF_ENVVAR was set"}]
    assert c["Secrets"] == [{"Name": "TASKDEF_SECRET", "ValueFrom": {"Ref": "DBSecret"}},
                            {"Name": "EC2_USER_PASSWORD",
                             "ValueFrom": {"Fn::Sub": "${ContainerUserSecret}:password::"}}]
    assert c["LogConfiguration"]["LogDriver"] == "awslogs"
    assert props(template, "TaskLogGroup")["RetentionInDays"] == 3
    repo = props(template, "Repo")
    assert repo["ImageScanningConfiguration"] == {"ScanOnPush": True} and repo["EmptyOnDelete"] is True


@pytest.mark.parametrize(
    "container, problem",
    [
        ({"Environment": [{"Name": "DB_PASSWORD", "Value": "x"}],
          "Secrets": [{"Name": "S", "ValueFrom": {"Ref": "DBSecret"}}]}, "name"),
        ({"Environment": [{"Name": "X",
                           "Value": {"Fn::Sub": "{{resolve:secretsmanager:${DBSecret}:SecretString:password}}"}}],
          "Secrets": [{"Name": "S", "ValueFrom": {"Ref": "DBSecret"}}]}, "value"),
        ({"Environment": [{"Name": "X", "Value": {"Ref": "DBSecret"}}],
          "Secrets": [{"Name": "S", "ValueFrom": {"Ref": "DBSecret"}}]}, "derived"),
        ({"Secrets": [{"Name": "S", "ValueFrom": "arn:aws:secretsmanager:REGION:ACCOUNT:secret:SECRETNAME"}]},
         "ValueFrom"),
        ({"Environment": [{"Name": "X", "Value": "y"}]}, "no container secret"),
    ],
)
def test_task_definition_checker_catches_bad_containers(container, problem):
    t = {"Resources": {
        "DBSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "T": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": [{"Name": "c", **container}]}},
    }}
    problems = tc.task_definition_problems(t)
    assert any(problem in p for p in problems), problems


def test_trail(template):
    trail = template["Resources"]["Trail"]
    p = trail["Properties"]
    assert trail["DependsOn"] == "TrailBucketPolicy"
    assert p["IsLogging"] is True and p["IncludeGlobalServiceEvents"] is True
    assert p["IsMultiRegionTrail"] is False and p["EnableLogFileValidation"] is True
    assert p["S3BucketName"] == {"Ref": "TrailBucket"}
    bucket = props(template, "TrailBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]
    stmts = {s["Sid"]: s for s in props(template, "TrailBucketPolicy")["PolicyDocument"]["Statement"]}
    trail_arn = {"Fn::Sub": "arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/"
                            "${NamePrefix}-trail"}
    assert stmts["AWSCloudTrailAclCheck"]["Action"] == "s3:GetBucketAcl"
    assert stmts["AWSCloudTrailAclCheck"]["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    w = stmts["AWSCloudTrailWrite"]
    assert w["Action"] == "s3:PutObject"
    assert w["Condition"]["StringEquals"] == {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}
    assert p["TrailName"] == {"Fn::Sub": "${NamePrefix}-trail"}  # the SourceArn above names it
