"""Workshops AWS accepts that differ from ours: each must stay READY."""
from __future__ import annotations

from tests.support.faults.base import Variant, edit_template

def _with_parameter_group(template: dict) -> None:
    resources = template["Resources"]
    resources["DBParameterGroup"] = {"Type": "AWS::RDS::DBParameterGroup", "Properties": {
        "Family": "mysql8.0", "Description": "Workshop database settings", "Parameters": {"max_connections": "200"},
        "Tags": [{"Key": "Project", "Value": {"Ref": "ProjectTag"}}]}}
    resources["DBInstance"]["Properties"]["DBParameterGroupName"] = {"Ref": "DBParameterGroup"}
    # checkov reads a custom group for require_secure_transport; the lab's scripts connect as the guide's do,
    # and the local AWS does not apply a group's parameters: the author skips it with the reason.
    resources["DBInstance"]["Metadata"]["checkov"]["skip"].append({
        "id": "CKV2_AWS_69", "comment": "The group only raises max_connections; TLS is required per user (the TLS "
                                        "lab's demouser), not for the whole server, as with the default group."})


def _rotation_every_four_hours(template: dict) -> None:
    template["Resources"]["RotationSchedule"]["Properties"]["RotationRules"] = {"ScheduleExpression": "rate(4 hours)"}


# Our own provider in the cfn-response style (CloudFormation user guide, "cfn-response module"): the zones that
# offer Secrets Manager's interface endpoint, as the original workshop chose its subnets' zones.
ENDPOINT_ZONES_PROVIDER = """\
import boto3
import cfnresponse


def handler(event, context):
    if event["RequestType"] == "Delete":
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {}, event["PhysicalResourceId"])
        return
    service = event["ResourceProperties"]["ServiceName"]
    try:
        details = boto3.client("ec2").describe_vpc_endpoint_services(ServiceNames=[service])["ServiceDetails"]
        zones = sorted(details[0]["AvailabilityZones"])
    except Exception as error:
        cfnresponse.send(event, context, cfnresponse.FAILED, {}, reason=str(error))
        return
    cfnresponse.send(event, context, cfnresponse.SUCCESS, {"Zones": ",".join(zones)}, "zones-" + service)
"""


def _subnets_in_endpoint_zones(template: dict) -> None:
    resources = template["Resources"]
    tags = [{"Key": "Project", "Value": {"Ref": "ProjectTag"}}]
    resources["EndpointZonesRole"] = {"Type": "AWS::IAM::Role", "Properties": {
        "Description": "Execution role of the endpoint zones lookup",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "lookup", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ec2:DescribeVpcEndpointServices", "Resource": "*"},
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                     "/aws/lambda/*"}}]}}],
        "Tags": tags}}
    skip = [{"id": "CKV_AWS_116", "comment": "A failed lookup answers FAILED, so its custom resource fails and "
                                               "CloudFormation reports why; nothing is left for a dead-letter queue."},
            {"id": "CKV_AWS_115", "comment": "CloudFormation invokes it once per stack operation; a reservation would "
                                               "take from the account's small unreserved pool."},
            {"id": "CKV_AWS_117", "comment": "Calls EC2's public API only; it reaches nothing in the VPC."},
            {"id": "CKV_AWS_173", "comment": "The function has no environment variables: nothing to encrypt."}]
    resources["EndpointZonesFunction"] = {"Type": "AWS::Lambda::Function", "Metadata": {"checkov": {"skip": skip}},
                                          "Properties": {
        "Description": "The zones that offer an interface endpoint service", "Runtime": "python3.12",
        "Handler": "index.handler", "Timeout": 30, "Role": {"Fn::GetAtt": ["EndpointZonesRole", "Arn"]},
        "Code": {"ZipFile": ENDPOINT_ZONES_PROVIDER}, "Tags": tags}}
    resources["EndpointZones"] = {"Type": "Custom::EndpointZones", "Properties": {
        "ServiceToken": {"Fn::GetAtt": ["EndpointZonesFunction", "Arn"]},
        "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"}}}
    for index, subnet in enumerate(("Subnet1", "Subnet2")):
        resources[subnet]["Properties"]["AvailabilityZone"] = {
            "Fn::Select": [index, {"Fn::Split": [",", {"Fn::GetAtt": ["EndpointZones", "Zones"]}]}]}


def _app_reads_the_workshop_secret(template: dict) -> None:
    """Lab B without a secret of its own: the app reads smdemo, as the workshop had it before appuser."""
    resources = template["Resources"]
    for name in ("AppUserSecret", "AppUserSecretAttachment"):
        del resources[name]
    del template["Outputs"]["AppUserSecretArn"]
    for role in ("RotationFunctionRole", "BastionRole"):
        for policy in resources[role]["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if isinstance(statement["Resource"], list):
                    statement["Resource"] = [arn for arn in statement["Resource"] if arn != {"Ref": "AppUserSecret"}]


ACCEPTED_VARIANTS = [
    Variant("db-parameter-group", "the DB instance uses its own DB parameter group (mysql8.0, max_connections)",
            edit_template(_with_parameter_group), ("tests/template", "tests/rds")),
    Variant("rotation-every-four-hours", "the rotation schedule is rate(4 hours), Secrets Manager's shortest",
            edit_template(_rotation_every_four_hours), ("tests/template", "tests/audit"),
            ("test_template_phase", "test_secret_controls_are_met[SecretsManager.1]")),
    Variant("subnets-in-endpoint-zones",
            "a Lambda-backed custom resource (cfn-response) picks the subnets' zones among those offering Secrets "
            "Manager's endpoint, as the original workshop did",
            edit_template(_subnets_in_endpoint_zones), ("tests/template", "tests/rds"),
            ("test_template_phase", "test_credentials_from_secret_read_bookinfo")),
    # The lesson then reads the secret the RDS phase rotates: it must not run beside that phase, but after it.
    Variant("app-reads-the-workshop-secret",
            "lab B's app reads smdemo: the workshop has no AppUserSecret (appuser) for it",
            edit_template(_app_reads_the_workshop_secret), ("tests/template", "tests/rds", "tests/app"),
            ("test_template_phase", "test_newway_script_on_the_bastion_reads_bookinfo",
             "test_newway_script_on_the_bastion_still_reads_bookinfo_after_rotation", "test_app_phase")),
]
