"""localaws.ext.rds_databases: an RDS MySQL instance is a real database server."""
from __future__ import annotations

import socket
import ssl

import pymysql
import pytest
from botocore.exceptions import ClientError

from tests.fidelity.helpers import unique
from tests.fidelity.validation import NOT_YET_VALIDATED

MASTER = "admin"
PASSWORD = "First-Passw0rd"
NEW_PASSWORD = "Second-Passw0rd"
ACCESS_DENIED = 1045
CANNOT_CONNECT = 2003


def _connect(endpoint: dict, password: str, database: str | None = None) -> pymysql.connections.Connection:
    return pymysql.connect(host=endpoint["Address"], port=endpoint["Port"], user=MASTER, password=password,
                           database=database, connect_timeout=3, autocommit=True)


def _error_code(endpoint: dict, password: str) -> int:
    with pytest.raises(pymysql.err.OperationalError) as refused:
        _connect(endpoint, password).close()
    return refused.value.args[0]


def _port_open(endpoint: dict) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((endpoint["Address"], endpoint["Port"])) == 0


@pytest.fixture(scope="module")
def instance(aws):
    rds = aws.client("rds")
    identifier = unique("fidelity-db")
    created = rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="mysql", DBInstanceClass="db.t3.micro",
                                     AllocatedStorage=20, MasterUsername=MASTER, MasterUserPassword=PASSWORD,
                                     DBName="appdb")["DBInstance"]
    yield {"id": identifier, "endpoint": created["Endpoint"]}
    try:
        rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    except ClientError:
        pass  # the deletion test removed it


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_endpoint_accepts_the_master_credentials_only(aws, instance):
    """CreateDBInstance: MasterUsername/MasterUserPassword are "the name/password for the master user";
    the instance's Endpoint (Address, Port) is where clients connect; a wrong password is refused with
    MySQL error 1045 (Access denied). DBName: "The name of the database to create when the DB instance
    is created"."""
    (described,) = aws.client("rds").describe_db_instances(DBInstanceIdentifier=instance["id"])["DBInstances"]
    assert described["Endpoint"] == instance["endpoint"]
    with _connect(instance["endpoint"], PASSWORD, database="appdb") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        assert cursor.fetchone()[0].startswith(f"{MASTER}@")
    assert _error_code(instance["endpoint"], "not-the-password") == ACCESS_DENIED


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_stopped_instance_refuses_connections_and_keeps_its_data_after_start(aws, instance):
    """StopDBInstance stops the instance (no connections); StartDBInstance "Starts an Amazon RDS DB
    instance that was stopped" -- with its endpoint and its storage as they were, so data written before
    the stop is still there."""
    rds = aws.client("rds")
    endpoint = instance["endpoint"]
    with _connect(endpoint, PASSWORD, database="appdb") as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE kept (note VARCHAR(20))")
        cursor.execute("INSERT INTO kept VALUES ('still here')")

    rds.stop_db_instance(DBInstanceIdentifier=instance["id"])
    assert rds.describe_db_instances(DBInstanceIdentifier=instance["id"])["DBInstances"][0]["DBInstanceStatus"] == "stopped"
    assert _error_code(endpoint, PASSWORD) == CANNOT_CONNECT

    rds.start_db_instance(DBInstanceIdentifier=instance["id"])
    assert rds.describe_db_instances(DBInstanceIdentifier=instance["id"])["DBInstances"][0]["DBInstanceStatus"] == "available"
    with _connect(endpoint, PASSWORD, database="appdb") as connection, connection.cursor() as cursor:
        cursor.execute("SELECT note FROM kept")
        assert cursor.fetchall() == (("still here",),)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_modify_master_user_password_resets_it(aws, instance):
    """ModifyDBInstance MasterUserPassword: "The new password for the master user"; the old one no longer
    logs in."""
    aws.client("rds").modify_db_instance(DBInstanceIdentifier=instance["id"], MasterUserPassword=NEW_PASSWORD,
                                               ApplyImmediately=True)
    _connect(instance["endpoint"], NEW_PASSWORD).close()
    assert _error_code(instance["endpoint"], PASSWORD) == ACCESS_DENIED


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_delete_removes_the_instance_and_its_server(aws, instance):
    """DeleteDBInstance: "deletes a previously provisioned DB instance"; DescribeDBInstances then answers
    DBInstanceNotFound, and nothing listens on the endpoint any more."""
    rds = aws.client("rds")
    assert _port_open(instance["endpoint"])
    rds.delete_db_instance(DBInstanceIdentifier=instance["id"], SkipFinalSnapshot=True)
    with pytest.raises(ClientError) as missing:
        rds.describe_db_instances(DBInstanceIdentifier=instance["id"])
    assert missing.value.response["Error"]["Code"] == "DBInstanceNotFound"
    assert not _port_open(instance["endpoint"])


@pytest.mark.parametrize(("changes", "code", "message"), [
    ({"MasterUserPassword": "has/slash-in-it"}, "InvalidParameterValue", "Only printable ASCII characters besides"),
    ({"MasterUserPassword": "has@at-in-it"}, "InvalidParameterValue", "Only printable ASCII characters besides"),
    ({"MasterUserPassword": 'has"quote'}, "InvalidParameterValue", "Only printable ASCII characters besides"),
    ({"MasterUserPassword": "has a space"}, "InvalidParameterValue", "Only printable ASCII characters besides"),
    ({"MasterUserPassword": "short"}, "InvalidParameterValue", "shorter than 8 characters"),
    ({"AllocatedStorage": 5, "StorageType": "gp3"}, "InvalidParameterCombination",
     "Invalid storage size for engine name mysql and storage type gp3: 5"),
], ids=["slash", "at", "quote", "space", "short", "storage"])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_create_refuses_what_rds_refuses(aws, changes, code, message):
    """CreateDBInstance MasterUserPassword: "Can include any printable ASCII character except '/', '"', '@',
    or a space" and, for MySQL, 8 to 41 characters; AllocatedStorage for MySQL on gp2/gp3 "Must be an integer
    from 20 to 65536" (RDS API reference, CreateDBInstance). Nothing is created."""
    rds = aws.client("rds")
    identifier = unique("refused-db")
    request = {"DBInstanceIdentifier": identifier, "Engine": "mysql", "DBInstanceClass": "db.t3.micro",
               "AllocatedStorage": 20, "MasterUsername": MASTER, "MasterUserPassword": PASSWORD, **changes}
    with pytest.raises(ClientError) as refused:
        rds.create_db_instance(**request)
    assert refused.value.response["Error"]["Code"] == code
    assert message in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError):
        rds.describe_db_instances(DBInstanceIdentifier=identifier)


@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_instance_serves_tls_verified_by_the_ca_bundle(aws):
    """"Amazon RDS creates an SSL/TLS certificate and installs the certificate on the DB instance";
    clients verify it with the CA bundle (RDS user guide, "Using SSL/TLS to encrypt a connection to a DB
    instance"); a user created with REQUIRE SSL cannot log in without TLS."""
    context = ssl.create_default_context(cadata=aws.rds_ca_bundle())
    rds = aws.client("rds")
    identifier = unique("tls-db")
    endpoint = rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="mysql", DBInstanceClass="db.t3.micro",
                                      AllocatedStorage=20, MasterUsername=MASTER,
                                      MasterUserPassword=PASSWORD)["DBInstance"]["Endpoint"]
    with pymysql.connect(host=endpoint["Address"], port=endpoint["Port"], user=MASTER, password=PASSWORD,
                         ssl=context, connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cursor.fetchone()[1].startswith("TLSv1.")
        cursor.execute("CREATE USER 'tlsonly'@'%' IDENTIFIED BY 'Tls-Only-Passw0rd' REQUIRE SSL")
    with pytest.raises(pymysql.err.OperationalError) as refused:
        pymysql.connect(host=endpoint["Address"], port=endpoint["Port"], user="tlsonly", password="Tls-Only-Passw0rd",
                        ssl_disabled=True, connect_timeout=5)
    assert refused.value.args[0] == 1045
    with pymysql.connect(host=endpoint["Address"], port=endpoint["Port"], user="tlsonly", password="Tls-Only-Passw0rd",
                         ssl=context, connect_timeout=5) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        assert cursor.fetchone()[0] == "tlsonly@%"
    rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
