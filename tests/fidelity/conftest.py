"""Fixtures the fidelity tests share: the AWS they run against, a private network in the shape of the
workshop's, an RDS MySQL instance in it, and AWS's stored answers to compare with.

`aws` is the local AWS by default (offline) or an account with `-m live` (billable: rarely run), gated as
the suite's live mode is (suite/fixtures.py, suite/preflight.py): a plain `pytest` deselects live, and a
live run without usable credentials stops before creating anything. Which tests a live run selects, and
the marker each test carries: tests/fidelity/validation.py.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from suite.attendee.bastion import Bastion
from suite.fixtures import MODE_PARAMS
from suite.preflight import stop_for_environment
from suite.report.phases import MODE_PARAM
from suite.targets import EnvironmentProblem
from tests.fidelity.answer_snapshots import AnswerSnapshots
from tests.support.ecs_world import public_subnet
from tests.support.aws_helpers import unique
from tests.support.any_aws import FidelityAWS, live_aws, offline_aws
from tests.fidelity.validation import can_meet_aws, check_markers
from tests.support.private_database import ENGINE_VERSION, MASTER, PASSWORD

SNAPSHOTS = Path(__file__).parent / "snapshots"
OFFLINE_ONLY = [param for param in MODE_PARAMS if param.values == ("offline",)]
CREATED_KEY = pytest.StashKey[tuple[Path, int]]()  # live: the list of what the run made, and how many


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every fidelity test carries its validation marker; each that takes `aws` runs offline, and live
    too when it can meet AWS (the suite's mode params and markers: `-m live` selects those)."""
    check_markers(metafunc.definition, metafunc.fixturenames)
    if MODE_PARAM in metafunc.fixturenames:
        params = MODE_PARAMS if can_meet_aws(metafunc.definition) else OFFLINE_ONLY
        metafunc.parametrize(MODE_PARAM, params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def aws(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FidelityAWS]:
    """The AWS under test (this overrides the suite's `aws` for the fidelity tests): the session's local
    AWS offline, the configured account live (what it made is listed at the end, to delete: it bills)."""
    if request.param == "offline":
        yield offline_aws(request.getfixturevalue("local_aws"))
        return
    try:
        target = live_aws(request.config.getoption("--aws-region"))
    except EnvironmentProblem as problem:  # once, for the whole run: not each test's failure
        stop_for_environment(request.config, str(problem))
        raise
    yield target
    listing = tmp_path_factory.getbasetemp() / "fidelity-live-created.json"
    listing.write_text(json.dumps(target.created, indent=2) + "\n")
    request.config.stash[CREATED_KEY] = (listing, len(target.created))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if CREATED_KEY in config.stash:
        listing, count = config.stash[CREATED_KEY]
        terminalreporter.write_line(f"fidelity, live: {count} calls made something in the account (it may bill "
                                    f"until deleted): {listing}", yellow=True)


@pytest.fixture
def snapshot(request: pytest.FixtureRequest, aws: FidelityAWS) -> AnswerSnapshots:
    """AWS's answers stored in tests/fidelity/snapshots/; `--snapshot-update` records them (live only)."""
    update = request.config.getoption("--snapshot-update")
    if update and aws.mode != "live":
        pytest.fail("--snapshot-update records AWS's answers: run it with -m live", pytrace=False)
    return AnswerSnapshots(SNAPSHOTS, aws, update=update)


@pytest.fixture(scope="module")
def vpc(aws) -> dict[str, str]:
    """A VPC with a public subnet (internet gateway route) and a private one (no route out), both
    giving instances public IPs on launch."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.64.1.0/24")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.64.2.0/24")["Subnet"]["SubnetId"]
    for subnet in (public, private):
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    public_subnet(ec2, vpc, public)
    return {"vpc": vpc, "public": public, "private": private}


@pytest.fixture(scope="module")
def route(aws):
    """SSH to an instance with a key of its own (the fidelity tests of the hosts' sshd): its ed25519 public key
    imported as the key pair `name`."""
    route = Bastion()
    name = unique("fid-key")
    aws.client("ec2").import_key_pair(KeyName=name, PublicKeyMaterial=route.public_key.encode())
    yield name, route
    route.close()


@pytest.fixture(scope="module")
def private_network(aws):
    """What the function's documentation asks for: a VPC whose private subnet holds the database and the
    function, the database's security group admitting the function's on 3306, and an interface endpoint for
    Secrets Manager with private DNS admitting the function on 443."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.63.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.63.{n}.0/24", AvailabilityZone=f"{aws.region}{zone}")
               ["Subnet"]["SubnetId"] for n, zone in ((1, "a"), (2, "b"))]
    groups = {name: ec2.create_security_group(GroupName=unique(name), Description=name, VpcId=vpc)["GroupId"]
              for name in ("function", "database", "endpoint")}
    for group, port in (("database", 3306), ("endpoint", 443)):
        ec2.authorize_security_group_ingress(GroupId=groups[group], IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "UserIdGroupPairs": [{"GroupId": groups["function"]}]}])
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{aws.region}.secretsmanager",
                            VpcEndpointType="Interface", SubnetIds=subnets, SecurityGroupIds=[groups["endpoint"]],
                            PrivateDnsEnabled=True)
    return {"subnets": subnets, **groups}


@pytest.fixture(scope="module")
def private_database(aws, private_network):
    rds = aws.client("rds")
    name = unique("aws-style-subnets")
    rds.create_db_subnet_group(DBSubnetGroupName=name, DBSubnetGroupDescription="fidelity",
                               SubnetIds=private_network["subnets"])
    identifier = unique("aws-style-db")
    endpoint = rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="mysql", EngineVersion=ENGINE_VERSION,
                                      DBInstanceClass="db.t3.micro", AllocatedStorage=20, MasterUsername=MASTER,
                                      MasterUserPassword=PASSWORD,
                                      DBName="smdemo", DBSubnetGroupName=name,
                                      VpcSecurityGroupIds=[private_network["database"]])["DBInstance"]["Endpoint"]
    yield endpoint
    rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
