"""Rotation code written by others works offline unchanged: a function in the style of AWS's published
single-user MySQL rotation function (tests/fidelity/aws_style_rotation/lambda_function.py), given only
the permissions and settings it documents, rotates an RDS MySQL secret and says it connected over TLS.
It takes the branch it takes in AWS: the instance is RDS MySQL 8.0 (EngineVersion), so VERSION() says
8.0.x and the function sets the password with MySQL 8's `SET PASSWORD = 'clear text'`; its other branch,
`SET PASSWORD = PASSWORD(...)`, is a syntax error on MySQL 8 (the PASSWORD() function was removed in
8.0.11: MySQL 8.0 reference manual, "SET PASSWORD Statement"), so a rotation that succeeds went through
the MySQL 8 branch.

What it relies on, each the local AWS's doing: SECRETS_MANAGER_ENDPOINT reaching Secrets Manager over
verified HTTPS (localaws/network/endpoints.py), GetRandomPassword, Amazon Linux's CA bundle at
/etc/pki/tls/cert.pem trusting the RDS certificate (localaws/functions/sandbox.py, localaws/certificates.py),
the database offering TLS and answering as MySQL 8 (localaws/ext/rds_databases.py, localaws/database/front.py).
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pymysql
import pytest

from tests.support.aws_helpers import (RUNTIME, VPC_ACCESS, allow_secrets_manager, create_lambda_role, lambda_zip,
                                       log_messages,
                                    unique, wait_for)

from tests.support.private_database import ENGINE_VERSION, MASTER, PASSWORD

FUNCTION_SOURCE = Path(__file__).parent / "aws_style_rotation" / "lambda_function.py"
# Both tests log in to the database themselves: in AWS a private subnet's database is out of this machine's reach.
PRIVATE_DATABASE = "connects from this machine to a database in a private subnet: only the local AWS's network lets it"


def _function_module():
    spec = importlib.util.spec_from_file_location("aws_style_rotation", FUNCTION_SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.local_only(PRIVATE_DATABASE)
def test_the_database_answers_as_mysql_8_and_refuses_the_mariadb_branch(private_database):
    """What the function decides by (SELECT VERSION()) is the instance's EngineVersion, as in RDS for MySQL,
    so it picks `SET PASSWORD = %s`; `SET PASSWORD = PASSWORD(...)` fails as on MySQL 8 (error 1064)."""
    with pymysql.connect(host=private_database["Address"], port=private_database["Port"], user=MASTER,
                         password=PASSWORD, connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        (version,) = cursor.fetchone()
        with pytest.raises(pymysql.err.ProgrammingError) as refused:
            cursor.execute("SET PASSWORD = PASSWORD(%s)", (PASSWORD,))
    assert version == ENGINE_VERSION
    assert _function_module().password_option(version) == "%s"
    assert refused.value.args[0] == 1064


@pytest.mark.local_only(PRIVATE_DATABASE)
def test_aws_style_function_rotates_over_tls_unchanged(aws, private_network, private_database):
    sm = aws.client("secretsmanager")
    document = {"engine": "mysql", "host": private_database["Address"], "port": private_database["Port"],
                "username": MASTER, "password": PASSWORD, "dbname": "smdemo"}
    arn = sm.create_secret(Name=unique("aws-style/secret"), SecretString=json.dumps(document))["ARN"]
    # What the function's documentation asks for: the secret's actions on its ARN, GetRandomPassword on *.
    role_name = unique("aws-style-role")
    role_arn = create_lambda_role(aws, role_name, [
        {"Effect": "Allow", "Resource": arn, "Action": ["secretsmanager:DescribeSecret",
                                                        "secretsmanager:GetSecretValue",
                                                       "secretsmanager:PutSecretValue",
                                                       "secretsmanager:UpdateSecretVersionStage"]},
        {"Effect": "Allow", "Resource": "*", "Action": "secretsmanager:GetRandomPassword"}, VPC_ACCESS])
    name = unique("aws-style-rotation")
    function_arn = aws.client("lambda").create_function(
        FunctionName=name, Runtime=RUNTIME, Role=role_arn, Handler="lambda_function.lambda_handler", Timeout=30,
        # Packaged as AWS packages it (its SAR application bundles PyMySQL: the runtime has only boto3).
        Code={"ZipFile": lambda_zip(FUNCTION_SOURCE.read_text(), "lambda_function", packages=("pymysql",))},
        VpcConfig={"SubnetIds": private_network["subnets"], "SecurityGroupIds": [private_network["function"]]},
        Environment={"Variables": {"SECRETS_MANAGER_ENDPOINT": f"https://secretsmanager.{aws.region}.amazonaws.com",
                                   "EXCLUDE_CHARACTERS": "/@\"'\\"}})["FunctionArn"]
    allow_secrets_manager(aws, name)

    token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=function_arn,
                             RotationRules={"AutomaticallyAfterDays": 30})["VersionId"]
    wait_for(lambda: sm.describe_secret(SecretId=arn)["VersionIdsToStages"].get(token) == ["AWSCURRENT"],
             timeout=30, what="the rotation to finish")

    rotated = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert rotated["password"] != PASSWORD
    with pymysql.connect(host=private_database["Address"], port=private_database["Port"], user=MASTER,
                         password=rotated["password"], connect_timeout=5):
        pass
    with pytest.raises(pymysql.err.OperationalError):
        pymysql.connect(host=private_database["Address"], port=private_database["Port"], user=MASTER,
                        password=PASSWORD, connect_timeout=5)
    lines = log_messages(aws, name)
    assert any("Successfully established SSL/TLS connection as user 'admin'" in line for line in lines), lines
    assert not any("non SSL/TLS" in line for line in lines), lines


