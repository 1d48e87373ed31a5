"""The network of the local AWS's hosts: each EC2 instance and each task in a namespace of its own.

AWS (VPC user guide, "Security group rules" and "Route tables"; ECS developer guide, "Fargate task
networking"): a host reaches another host of its VPC, a database or an AWS service only as its
security groups, its subnet's routes and its public IP allow, and the internet reaches it only on
its public IP through an internet gateway, on what its groups admit (localaws/network/reachability.py
decides each flow from the deployed resources). A packet AWS drops goes unanswered: the client's
connect times out.

Here each host's sandbox has a network namespace of its own (localaws/hosts/sandbox.py, `own_network`),
and this module wires every flow the model decides (localaws/network/namespace_forwards.py):
- inside a host's namespace, each other host's address and port (its sshd, its container's ports):
  a forward into that host's namespace where this host may reach it, a black hole where not (the
  bastion's `ssh` to a task whose group does not admit the bastion's group times out);
- each database's address and port: a forward to the database, or a black hole;
- the AWS endpoint names (its /etc/hosts, localaws/network/endpoint_names.py), as the model says;
- "the internet" (localaws/network/addresses.py `internet_ports`) where the host has a way out and its groups
  let the port out;
- outside, in this machine's namespace (where the suite connects from: the internet, the admin
  CIDR), each host's address and port: a forward into its namespace where the internet may reach
  it, a black hole where not.
Hosts and databases come and go: `refresh` plans every namespace again and changes only what
changed. Each refused flow is said once in the local AWS's log ("X cannot reach Y: why").
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends
from moto.rds.models import rds_backends
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from localaws.live_state import read_again_if_changed
from localaws.network import addresses
from localaws.network import reachability as network_paths
from localaws.network import endpoint_names as service_hosts
from localaws.network.namespace_forwards import HOLE, NamespaceForwards, Plan
from localaws.network.reachability import Interface
from localaws.hosts.metadata import ADDRESS as METADATA_ADDRESS
from localaws.network.endpoint_names import INSIDE_BLACK_HOLE, INSIDE_ENDPOINT

log = logging.getLogger("localaws.network")


@dataclass
class Host:
    name: str  # "instance i-0abc...", "task 0f3e..."
    account_id: str
    region: str
    interface: Interface
    address: str  # its loopback address: the IP it is reached at
    ports: tuple[int, ...]  # where its servers listen
    wiring: NamespaceForwards

    def connect(self, port: int, timeout: float = 10) -> socket.socket:
        """A connection to one of its own servers, from inside its namespace."""
        return self.wiring.connect_inside(self.address, port, timeout)


_HOSTS: dict[str, Host] = {}
_LOCK = threading.RLock()
_OUTSIDE: list[NamespaceForwards] = []  # this machine's namespace, once a host exists
_SAID: set[str] = set()


def attach(name: str, account_id: str, region: str, interface: Interface, address: str, ports: tuple[int, ...],
           pid: int, etc: Path) -> Host:
    """Wire a sandbox's namespace (`pid` is in it; `etc` is its /etc) as the host `name`'s."""
    ec2 = ec2_backends[account_id][region]
    services = service_hosts.plan(region, lambda service: network_paths.host_reaches_service(ec2, interface, service),
                                  buckets=list(s3_backends[account_id][get_partition(region)].buckets))
    with open(etc / "hosts", "a") as hosts:
        hosts.write("".join(f"{line}\n" for line in services.lines))
    _say(name, services.refused)
    wiring = NamespaceForwards(pid)
    try:
        wiring.apply(services.flows())
    except OSError:
        wiring.close()
        raise
    host = Host(name, account_id, region, interface, address, ports, wiring)
    with _LOCK:
        _HOSTS[name] = host
        refresh()
    return host


def host_named(name: str) -> Host | None:
    """The host `name` ("instance i-0abc..."), while it is wired."""
    with _LOCK:
        return _HOSTS.get(name)


def detach(name: str) -> None:
    with _LOCK:
        host = _HOSTS.pop(name, None)
        if host is None:
            return
        host.wiring.close()
        refresh()


def wait_serving(host: Host | str, port: int, timeout: float = 10) -> None:
    """Until the host's server on `port` accepts connections (seen from inside its namespace; a
    bare address: a server in this machine's)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if isinstance(host, str):
                socket.create_connection((host, port), timeout=1).close()
            else:
                host.connect(port, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@read_again_if_changed
def database_flows(account_id: str, region: str, why_not: Callable[[Any], str | None]) -> tuple[Plan, list[str]]:
    """Each local database's address and port: a forward where `why_not(database)` is None, a black
    hole where it says why not; and those reasons, for the log."""
    plan: Plan = {}
    refused = []
    for database in rds_backends[account_id][region].databases.values():
        server = database.__dict__.get("_local_server")
        if server is None:
            continue
        why = why_not(database)
        target = (server.host, server.port)
        plan[target] = (HOLE, None) if why else (f"forward to {target}", target)
        if why:
            refused.append(f"{database.db_instance_identifier}: {why}")
    return plan, refused


def add_internet(plan: Plan, ports: set[int], reaches: Callable[[int], bool]) -> None:
    """"The internet" (ports listening on 127.0.0.1) where `reaches(port)`, and the plan has nothing
    else there."""
    for port in ports:
        if reaches(port):
            plan.setdefault(("127.0.0.1", port), (f"forward to ('127.0.0.1', {port})", ("127.0.0.1", port)))


def refresh() -> None:
    """Plan every namespace again from the deployed resources; change what changed."""
    with _LOCK:
        hosts = list(_HOSTS.values())
        if not hosts and not _OUTSIDE:
            return
        if not _OUTSIDE:
            _OUTSIDE.append(NamespaceForwards(None))
        hosts = [host for host in hosts if _modelled(host)]
        _apply(_OUTSIDE[0], _plan_outside(hosts), "the internet")
        internet = addresses.internet_ports() if hosts else set()  # once: it reads the machine's listeners
        for host in hosts:
            try:
                plan = _plan_inside(host, hosts, internet)
            except EC2ClientError:  # its subnet or groups went since _modelled (its stack is being deleted)
                continue
            _apply(host.wiring, plan, host.name)


@read_again_if_changed
def _modelled(host: Host) -> bool:
    """False for a host whose subnet is gone (a stack being deleted): nothing reaches it any more."""
    subnets = ec2_backends[host.account_id][host.region].subnets.values()
    return any(host.interface.subnet_id in zone for zone in subnets)


def _into(host: Host, port: int) -> Callable[[], socket.socket]:
    return lambda: host.connect(port)


def _plan_outside(hosts: list[Host]) -> Plan:
    plan: Plan = {}
    for host in hosts:
        ec2 = ec2_backends[host.account_id][host.region]
        refused = []
        for port in host.ports:
            try:
                why = network_paths.internet_reaches_host(ec2, host.interface, port)
            except EC2ClientError:  # its subnet or groups went meanwhile: another account's teardown, say
                why = "a subnet or security group is gone (a stack being deleted)"
            plan[(host.address, port)] = (HOLE, None) if why else (f"forward to {host.name}:{port}", _into(host, port))
            if why:
                refused.append(f"{host.name} port {port}: {why}")
        _say(f"the internet ({network_paths.INTERNET})", refused)
    return plan


def _plan_inside(host: Host, hosts: list[Host], internet: set[int]) -> Plan:
    ec2 = ec2_backends[host.account_id][host.region]
    plan, refused = database_flows(host.account_id, host.region,
                                   lambda database: network_paths.host_reaches_database(ec2, host.interface, database))
    for other in hosts:
        if other is host or (other.account_id, other.region) != (host.account_id, host.region):
            continue
        for port in other.ports:
            try:
                why = network_paths.host_reaches_host(ec2, host.interface, other.interface, port)
            except EC2ClientError:  # the other host's subnet or groups went meanwhile (its stack is being deleted)
                why = "a subnet or security group is gone (a stack being deleted)"
            plan[(other.address, port)] = (HOLE, None) if why else (f"forward to {other.name}:{port}",
                                                                    _into(other, port))
            if why:
                refused.append(f"{other.name} port {port}: {why}")
    add_internet(plan, internet, lambda port: network_paths.host_reaches_internet(ec2, host.interface, port))
    _say(host.name, refused)
    return plan


def _apply(wiring: NamespaceForwards, plan: Plan, who: str) -> None:
    def failed(key: tuple[str, int], kind: str, error: OSError) -> None:  # the other flows are wired still
        log.warning("%s: could not wire %s:%s (%s): %s", who, key[0], key[1], kind, error)

    # The endpoint's two addresses are wired once, at attach; an instance's metadata service when it starts.
    wiring.apply(plan, keep=lambda key: key[0] in (INSIDE_ENDPOINT, INSIDE_BLACK_HOLE, METADATA_ADDRESS),
                 on_error=failed)


def _say(who: str, refused: list[str]) -> None:
    """A refused flow in the local AWS's log, once: the first place to look when a step times out."""
    new = [line for line in refused if f"{who}|{line}" not in _SAID]
    if new:
        _SAID.update(f"{who}|{line}" for line in new)
        log.warning("%s cannot reach: %s", who, "; ".join(new))


def stop_all() -> None:
    with _LOCK:
        hosts = list(_HOSTS.values())
        _HOSTS.clear()
        outside = list(_OUTSIDE)
        _OUTSIDE.clear()
    for wiring in [host.wiring for host in hosts] + outside:
        wiring.close()
