"""RDS MySQL/MariaDB instances backed by a real database server process.

AWS: CreateDBInstance gives a server that accepts the master user name and password and
refuses anything else (MySQL error 1045); the instance's Endpoint (Address, Port) is
where clients connect; StopDBInstance / StartDBInstance stop and restart it with its data;
ModifyDBInstance MasterUserPassword resets the master password; DeleteDBInstance removes it.
CreateDBInstance and ModifyDBInstance refuse (InvalidParameterValue) a master password with a
character RDS does not take ("Only printable ASCII characters besides '/', '@', '"', ' ' may be
used") or outside MySQL's 8 to 41 characters, and CreateDBInstance refuses storage below the
engine's minimum for its storage type (InvalidParameterCombination "Invalid storage size for
engine name mysql and storage type gp3: 5"): 20 GiB for gp2/gp3, 100 for io1/io2, 5 for standard.
Every instance offers TLS with a certificate of the local AWS's CA (localaws/certificates.py),
which stands in for the RDS CA bundle: clients that verify against the bundle negotiate TLS.
An RDS MySQL instance's VERSION() is its EngineVersion, and MySQL 8's password statements do what
they do there (localaws/database/server.py `answers_as`, localaws/database/front.py).
moto 5.2.5 only records metadata: there is no database and the password is never checked; an
instance made by CloudFormation loses its VPCSecurityGroups (here they are kept).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from moto.rds.exceptions import InvalidParameterCombination, InvalidParameterValue
from moto.rds.models import DBInstance, RDSBackend

from localaws.state import state_dir
from localaws import certificates
from localaws.database.server import MySQLServer

ENGINES = {"mysql", "mariadb"}


def databases_root() -> Path:
    return state_dir() / "rds"


def _server(database: DBInstance) -> MySQLServer | None:
    return database.__dict__.get("_local_server")


def _address(self: DBInstance) -> str:
    server = _server(self)
    if server is not None:
        return server.host
    return f"{self.db_instance_identifier}.aaaaaaaaaa.{self.region}.rds.amazonaws.com"


_original_create = RDSBackend.create_db_instance
_original_stop = RDSBackend.stop_db_instance
_original_start = RDSBackend.start_db_instance
_original_delete = RDSBackend.delete_db_instance
_original_modify = RDSBackend.modify_db_instance


MIN_STORAGE = {"gp2": 20, "gp3": 20, "io1": 100, "io2": 100, "standard": 5}


def refuse_bad_password(password: str | None) -> None:
    if password is None:
        return
    if any(c in "/@\" " or not (32 < ord(c) < 127) for c in password):
        raise InvalidParameterValue("The parameter MasterUserPassword is not a valid password. Only printable "
                                    "ASCII characters besides '/', '@', '\"', ' ' may be used.")
    if not 8 <= len(password) <= 41:
        raise InvalidParameterValue("The parameter MasterUserPassword is not a valid password because it is "
                                    f"{'shorter than 8' if len(password) < 8 else 'longer than 41'} characters.")


def refuse_bad_storage(db_kwargs: dict[str, Any]) -> None:
    engine = (db_kwargs.get("engine") or "").lower()
    storage_type = db_kwargs.get("storage_type") or "gp2"
    size = db_kwargs.get("allocated_storage")
    if engine in ENGINES and size is not None and int(size) < MIN_STORAGE.get(storage_type, 20):
        raise InvalidParameterCombination(
            f"Invalid storage size for engine name {engine} and storage type {storage_type}: {int(size)}")


def create_db_instance(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    refuse_bad_password(db_kwargs.get("master_user_password"))
    refuse_bad_storage(db_kwargs)
    database = _original_create(self, db_kwargs)
    if (database.engine or "").lower() not in ENGINES or database.db_cluster_identifier:
        return database
    name = f"{self.account_id}-{self.region_name}-{database.db_instance_identifier}"
    issued = certificates.issue(f"rds-{name}", ["localhost", _address(database)], [MySQLServer.host])
    server = MySQLServer(
        databases_root() / name,
        master_username=database.master_username,
        master_password=db_kwargs.get("master_user_password") or "",
        tls=(certificates.bundle(), issued.certificate, issued.key),
        # An RDS MySQL instance answers as the MySQL version it was created with (a MariaDB one as itself).
        answers_as=database.engine_version if database.engine.lower() == "mysql" else None,
    )
    try:
        server.start()
        if database.db_name:
            with server.admin_connect() as connection, connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database.db_name}`")
    except Exception:
        server.remove()
        self.databases.pop(database.db_instance_identifier, None)
        raise
    database.__dict__["_local_server"] = server
    # The port AWS would have given it (what security groups name); clients use the server's own.
    database.__dict__["_modelled_port"] = int(database.port or 3306)
    database.port = server.port
    return database


def stop_db_instance(self: RDSBackend, db_instance_identifier: str,
                     db_snapshot_identifier: str | None = None) -> DBInstance:
    database = _original_stop(self, db_instance_identifier, db_snapshot_identifier)
    if server := _server(database):
        server.stop()
    return database


def start_db_instance(self: RDSBackend, db_instance_identifier: str) -> DBInstance:
    database = self.describe_db_instances(db_instance_identifier)[0]
    if (server := _server(database)) and database.status == "stopped":
        server.start()
    return _original_start(self, db_instance_identifier)


def delete_db_instance(self: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any) -> DBInstance:
    database = _original_delete(self, db_instance_identifier, *args, **kwargs)
    if server := _server(database):
        server.remove()
    return database


def modify_db_instance(self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]) -> DBInstance:
    refuse_bad_password(db_kwargs.get("master_user_password"))
    database = _original_modify(self, db_instance_identifier, db_kwargs)
    password = db_kwargs.get("master_user_password")
    if password and (server := _server(database)):
        with server.admin_connect() as connection, connection.cursor() as cursor:
            for host in ("%", "localhost"):
                cursor.execute("ALTER USER %s@%s IDENTIFIED BY %s", (database.master_username, host, password))
    return database


def stop_all() -> None:
    """Server shutdown: no database process outlives the local AWS."""
    from moto.rds.models import rds_backends

    for account in rds_backends.values():
        for backend in account.values():
            for database in list(backend.databases.values()):
                if server := _server(database):
                    server.remove()


_original_from_cfn = DBInstance.create_from_cloudformation_json.__func__


def instance_from_cloudformation(cls: type, resource_name: str, cloudformation_json: Any, account_id: str,
                                 region_name: str, **kwargs: Any) -> DBInstance:
    """AWS::RDS::DBInstance VPCSecurityGroups are the instance's security groups (moto drops them)."""
    database = _original_from_cfn(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    groups = cloudformation_json.get("Properties", {}).get("VPCSecurityGroups")
    if groups:
        database.vpc_security_group_ids = list(groups)
    return database


def install() -> None:
    DBInstance.address = property(_address)
    DBInstance.create_from_cloudformation_json = classmethod(instance_from_cloudformation)
    RDSBackend.create_db_instance = create_db_instance
    RDSBackend.stop_db_instance = stop_db_instance
    RDSBackend.start_db_instance = start_db_instance
    RDSBackend.delete_db_instance = delete_db_instance
    RDSBackend.modify_db_instance = modify_db_instance
