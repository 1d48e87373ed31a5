"""Fixtures the fidelity tests share: a private network in the shape of the workshop's, and an RDS
MySQL instance in it."""
from __future__ import annotations

import pytest

from suite.attendee.bastion import Bastion
from tests.fidelity.ecs_helpers import public_subnet
from tests.fidelity.helpers import unique

MASTER, PASSWORD = "admin", "Before-Rotation-Passw0rd"
ENGINE_VERSION = "8.0.46"  # the workshop's (workshop/template.yaml)


@pytest.fixture(scope="module")
def vpc(local_aws) -> dict[str, str]:
    """A VPC with a public subnet (internet gateway route) and a private one (no route out), both
    giving instances public IPs on launch."""
    ec2 = local_aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.64.1.0/24")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.64.2.0/24")["Subnet"]["SubnetId"]
    for subnet in (public, private):
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    public_subnet(ec2, vpc, public)
    return {"vpc": vpc, "public": public, "private": private}


@pytest.fixture(scope="module")
def route(local_aws):
    """The suite's bastion route: its ed25519 public key imported as the key pair `name`."""
    route = Bastion()
    name = unique("fid-key")
    local_aws.client("ec2").import_key_pair(KeyName=name, PublicKeyMaterial=route.public_key.encode())
    yield name, route
    route.close()


@pytest.fixture(scope="module")
def private_network(local_aws):
    """What the function's documentation asks for: a VPC whose private subnet holds the database and the
    function, the database's security group admitting the function's on 3306, and an interface endpoint for
    Secrets Manager with private DNS admitting the function on 443."""
    ec2 = local_aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.63.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.63.{n}.0/24", AvailabilityZone=f"{local_aws.region}{zone}")
               ["Subnet"]["SubnetId"] for n, zone in ((1, "a"), (2, "b"))]
    groups = {name: ec2.create_security_group(GroupName=unique(name), Description=name, VpcId=vpc)["GroupId"]
              for name in ("function", "database", "endpoint")}
    for group, port in (("database", 3306), ("endpoint", 443)):
        ec2.authorize_security_group_ingress(GroupId=groups[group], IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": groups["function"]}]}])
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{local_aws.region}.secretsmanager",
                            VpcEndpointType="Interface", SubnetIds=subnets, SecurityGroupIds=[groups["endpoint"]],
                            PrivateDnsEnabled=True)
    return {"subnets": subnets, **groups}


@pytest.fixture(scope="module")
def private_database(local_aws, private_network):
    rds = local_aws.client("rds")
    name = unique("aws-style-subnets")
    rds.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="fidelity", SubnetIds=private_network["subnets"])
    identifier = unique("aws-style-db")
    endpoint = rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="mysql", EngineVersion=ENGINE_VERSION,
                                      DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername=MASTER,
                                      MasterUserPassword=PASSWORD,
                                      DBName="smdemo", DBSubnetGroupName=name,
                                      VpcSecurityGroupIds=[private_network["database"]])["DBInstance"]["Endpoint"]
    yield endpoint
    rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
