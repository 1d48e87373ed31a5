"""localaws.ext.cfn_secretsmanager and cfn_dynamic_refs: a secret-backed RDS stack, as CloudFormation builds it."""
from __future__ import annotations

import json
import socket

import pymysql
import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import await_stack, unique
from tests.fidelity.validation import NOT_YET_VALIDATED

USERNAME = "dbmaster"
PASSWORD_LENGTH = 40  # RDS MySQL takes master passwords of 8 to 41 characters
# The workshop's exclusions plus letters and digits, so that a generator ignoring them is caught
# (64 characters drawn without honouring 19 exclusions out of 94 avoid them all with p < 1e-5).
EXCLUDED = " /@\"'\\`aeiouAEIOU0123"
ACCESS_DENIED = 1045


def _template(secret_name: str, db_id: str, parameter_name: str) -> str:
    resolve = "{{resolve:secretsmanager:${Secret}:SecretString:%s}}"
    return json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {
                    "Name": secret_name,
                    "GenerateSecretString": {
                        "SecretStringTemplate": json.dumps({"username": USERNAME, "purpose": "fidelity"}),
                        "GenerateStringKey": "password",
                        "PasswordLength": PASSWORD_LENGTH,
                        "ExcludeCharacters": EXCLUDED,
                    },
                },
            },
            "Database": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "DBInstanceIdentifier": db_id,
                    "Engine": "mysql",
                    "DBInstanceClass": "db.t3.micro",
                    "AllocatedStorage": "20",
                    "MasterUsername": {"Fn::Sub": resolve % "username"},
                    "MasterUserPassword": {"Fn::Sub": resolve % "password"},
                },
            },
            "Attachment": {
                "Type": "AWS::SecretsManager::SecretTargetAttachment",
                "Properties": {"SecretId": {"Ref": "Secret"}, "TargetId": {"Ref": "Database"},
                               "TargetType": "AWS::RDS::DBInstance"},
            },
            "UsernameParameter": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": parameter_name, "Type": "String", "Value": {"Fn::Sub": resolve % "username"}},
            },
        },
        "Outputs": {
            "SecretRef": {"Value": {"Ref": "Secret"}},
            "SecretId": {"Value": {"Fn::GetAtt": ["Secret", "Id"]}},
            "AttachmentRef": {"Value": {"Ref": "Attachment"}},
        },
    })


@pytest.fixture(scope="module")
def stack(aws):
    cfn = aws.client("cloudformation")
    names = {"stack": unique("secret-stack"), "secret": unique("cfn/db-secret"), "db": unique("cfn-db"),
             "parameter": unique("/fidelity/username")}
    cfn.create_stack(StackName=names["stack"], TemplateBody=_template(names["secret"], names["db"], names["parameter"]))
    await_stack(aws, names["stack"], "create")
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in cfn.describe_stacks(StackName=names["stack"])["Stacks"][0]["Outputs"]}
    sm = aws.client("secretsmanager")
    document = json.loads(sm.get_secret_value(SecretId=names["secret"])["SecretString"])
    yield {**names, "outputs": outputs, "secret": document, "arn": sm.describe_secret(SecretId=names["secret"])["ARN"]}
    cfn.delete_stack(StackName=names["stack"])  # no-op when the deletion test ran


def _connect(secret: dict, password: str) -> pymysql.connections.Connection:
    return pymysql.connect(host=secret["host"], port=secret["port"], user=secret["username"], password=password,
                           connect_timeout=3)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_generate_secret_string_fills_the_template(stack):
    """GenerateSecretString: the generated password is put under GenerateStringKey into the
    SecretStringTemplate JSON; PasswordLength: "The length of the password"; ExcludeCharacters: "A string
    of the characters that you don't want in the password"."""
    secret = stack["secret"]
    assert secret["username"] == USERNAME and secret["purpose"] == "fidelity"
    password = secret["password"]
    assert len(password) == PASSWORD_LENGTH
    assert not set(password) & set(EXCLUDED), f"excluded characters used: {set(password) & set(EXCLUDED)}"


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_ref_returns_the_secret_arn(stack):
    """AWS::SecretsManager::Secret return values: Ref returns the secret's ARN, and so does GetAtt Id
    ("The ARN of the secret"); a SecretTargetAttachment's Ref is the ARN of the secret too."""
    assert stack["outputs"]["SecretRef"] == stack["arn"]
    assert stack["outputs"]["SecretId"] == stack["arn"]
    assert stack["outputs"]["AttachmentRef"] == stack["arn"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_dynamic_reference_is_resolved_in_another_resources_property(aws, stack):
    """Dynamic references: "Use the secretsmanager dynamic reference to retrieve entire secrets or secret
    values that are stored in AWS Secrets Manager for use in your templates" --
    {{resolve:secretsmanager:secret-id:SecretString:json-key}} in a property is replaced by the value."""
    value = aws.client("ssm").get_parameter(Name=stack["parameter"])["Parameter"]["Value"]
    assert value == USERNAME


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_target_attachment_adds_the_connection_details(stack):
    """AWS::SecretsManager::SecretTargetAttachment "completes the final link between a Secrets Manager
    secret and the associated database by adding the database connection information to the secret JSON"
    (engine, host, port, dbInstanceIdentifier for an AWS::RDS::DBInstance)."""
    secret = stack["secret"]
    assert secret["engine"] == "mysql"
    assert secret["dbInstanceIdentifier"] == stack["db"]
    assert isinstance(secret["port"], int) and secret["host"]


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_database_accepts_the_master_password_from_the_secret(aws, stack):
    """The instance's MasterUserPassword came from the secret (dynamic reference): the database at the
    secret's host/port accepts it, and answers a wrong password with error 1045."""
    (instance,) = aws.client("rds").describe_db_instances(DBInstanceIdentifier=stack["db"])["DBInstances"]
    assert (instance["Endpoint"]["Address"], instance["Endpoint"]["Port"]) == (stack["secret"]["host"],
                                                                              stack["secret"]["port"])
    assert instance["MasterUsername"] == USERNAME
    with _connect(stack["secret"], stack["secret"]["password"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    with pytest.raises(pymysql.err.OperationalError) as refused:
        _connect(stack["secret"], stack["secret"]["password"] + "x").close()
    assert refused.value.args[0] == ACCESS_DENIED


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_delete_stack_removes_the_secret_and_stops_the_database(aws, stack):
    """Deleting the stack deletes its resources: the secret (DeleteSecret) and the DB instance
    (DeleteDBInstance), whose endpoint then accepts no connection."""
    cfn = aws.client("cloudformation")
    cfn.delete_stack(StackName=stack["stack"])
    await_stack(aws, stack["stack"], "delete")
    with pytest.raises(ClientError) as missing:
        aws.client("secretsmanager").describe_secret(SecretId=stack["arn"])
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as gone:
        aws.client("rds").describe_db_instances(DBInstanceIdentifier=stack["db"])
    assert gone.value.response["Error"]["Code"] == "DBInstanceNotFound"
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex((stack["secret"]["host"], stack["secret"]["port"])) != 0, "the database still listens"
