"""localaws.ext.rds_databases: an RDS MySQL instance is a real database server."""
from __future__ import annotations

import socket
import ssl

import pymysql
import pytest
from botocore.exceptions import ClientError

from tests.support.aws_helpers import unique
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
    created = rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="mysql", EngineVersion="8.0.46",
                                     DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername=MASTER,
                                     MasterUserPassword=PASSWORD, DBName="appdb")["DBInstance"]
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
    assert rds.describe_db_instances(DBInstanceIdentifier=instance["id"])["DBInstances"][0]["DBInstanceStatus"] \
        == "stopped"
    assert _error_code(endpoint, PASSWORD) == CANNOT_CONNECT

    rds.start_db_instance(DBInstanceIdentifier=instance["id"])
    assert rds.describe_db_instances(DBInstanceIdentifier=instance["id"])["DBInstances"][0]["DBInstanceStatus"] \
        == "available"
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
def test_mysql_8_password_statements_change_the_master_password(aws, instance):
    """MySQL 8.0 reference manual: `ALTER USER CURRENT_USER() IDENTIFIED BY 'auth_string'` and
    `SET PASSWORD = 'auth_string'` (clear text) change the connected account's password ("ALTER USER
    Statement", "SET PASSWORD Statement"), what rotation code for RDS for MySQL 8 sends over TLS; the old
    password is then refused (1045). PASSWORD() no longer exists (removed in 8.0.11): syntax error 1064."""
    endpoint = instance["endpoint"]
    context = ssl.create_default_context(cadata=aws.rds_ca_bundle())
    password = _current_password(endpoint)
    for statement, new in (("ALTER USER CURRENT_USER() IDENTIFIED BY %s", "Alter-Current-User-1"),
                           ("SET PASSWORD = %s", "Set-Password-Clear-2")):
        with pymysql.connect(host=endpoint["Address"], port=endpoint["Port"], user=MASTER, password=password,
                             ssl=context, connect_timeout=3) as connection, connection.cursor() as cursor:
            cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
            assert cursor.fetchone()[1].startswith("TLSv1.")
            cursor.execute(statement, (new,))
        assert _error_code(endpoint, password) == ACCESS_DENIED
        _connect(endpoint, new).close()
        password = new
    with _connect(endpoint, password) as connection, connection.cursor() as cursor:
        with pytest.raises(pymysql.err.ProgrammingError) as refused:
            cursor.execute("SET PASSWORD = PASSWORD(%s)", (PASSWORD,))
        assert refused.value.args[0] == 1064
        cursor.execute("ALTER USER CURRENT_USER() IDENTIFIED BY %s", (NEW_PASSWORD,))


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


@pytest.mark.parametrize(("engine_version", "plugin"), [("8.0.46", "mysql_native_password"),
                                                      ("8.4.6", "caching_sha2_password")])
@pytest.mark.local_only(NOT_YET_VALIDATED)
def test_the_server_answers_as_the_engine_version_it_was_created_with(aws, engine_version, plugin):
    """CreateDBInstance EngineVersion: "The version number of the database engine to use"; RDS for MySQL's
    VERSION() and the protocol greeting name that version ("Supported MySQL minor versions on Amazon RDS"),
    which is how rotation code picks its SQL (AWS's SecretsManagerRDSMySQLRotationSingleUser branches on
    VERSION() starting with "8"). Logins: mysql_native_password on RDS MySQL 8.0 (its parameter group's
    default_authentication_plugin), caching_sha2_password on 8.4 (MySQL 8.4 reference manual, "Caching
    SHA-2 Pluggable Authentication": the default plugin; RDS's 8.4 parameter groups keep it)."""
    rds = aws.client("rds")
    identifier = unique("version-db")
    created = rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="mysql", EngineVersion=engine_version,
                                     DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername=MASTER,
                                     MasterUserPassword=PASSWORD)["DBInstance"]
    try:
        assert created["EngineVersion"] == engine_version
        with _connect(created["Endpoint"], PASSWORD) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            assert cursor.fetchone()[0] == engine_version
            assert connection.get_server_info() == engine_version
            assert connection._auth_plugin_name == plugin
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)


def _current_password(endpoint: dict) -> str:
    for candidate in (PASSWORD, NEW_PASSWORD):
        try:
            _connect(endpoint, candidate).close()
            return candidate
        except pymysql.err.OperationalError:
            continue
    raise AssertionError("neither known master password logs in")
