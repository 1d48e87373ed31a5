"""localaws/live_state.py: a read of moto's resources that another thread changes meanwhile is made again,
not failed. AWS decides a host's network paths whatever another account's stack is creating at that moment.

The likely cause of a CI failure (three accounts of one local AWS deployed at once, a healthy account's resource
failed to create; the log cut off its message): the network's wiring, planned again after one account's change,
read another account's dicts while that account's stack was adding to them on its own thread.
The other thread is played here by the dict itself, which takes a resource in the middle of being read: the
same RuntimeError as two threads give, every time, not once in thousands of reads.
"""
from __future__ import annotations

import pytest
from moto.ec2.models import ec2_backends

from localaws.live_state import changed_meanwhile, read_again_if_changed
from localaws.network import reachability
from localaws.network.reachability import Interface

ACCOUNT = "210987654321"


class _GrowsWhileRead(dict):
    """A dict that, the first time its values are read, takes a new entry halfway: as moto's dict does when another
    thread's CreateRouteTable lands in the middle of a read of it."""

    def __init__(self, original: dict, newcomer: tuple) -> None:
        super().__init__(original)
        self.newcomer: tuple | None = newcomer

    def values(self):  # type: ignore[override]
        view = super().values()
        if self.newcomer is None:
            return view
        return self._growing(view)

    def _growing(self, view):
        for index, value in enumerate(view):
            if index == 0 and self.newcomer is not None:
                key, newcomer = self.newcomer
                self.newcomer = None
                self[key] = newcomer
            yield value


@pytest.fixture
def host_whose_route_tables_grow_while_read():
    """(ec2, host): a host with a public IP in a subnet routed to an internet gateway, whose account's route tables
    take one more table in the middle of their next read, as another thread's CreateRouteTable would."""
    ec2 = ec2_backends[ACCOUNT]["eu-west-1"]
    vpc = ec2.create_vpc("10.9.0.0/16")
    subnet = ec2.create_subnet(vpc.id, "10.9.1.0/24", availability_zone="eu-west-1a")
    gateway = ec2.create_internet_gateway()
    ec2.attach_internet_gateway(gateway.id, vpc.id)
    table = ec2.create_route_table(vpc.id)
    ec2.create_route(table.id, "0.0.0.0/0", gateway_id=gateway.id)
    ec2.associate_route_table(table.id, subnet_id=subnet.id)
    extra = ec2.create_route_table(vpc.id)  # what "another thread" adds, halfway through the read
    ec2.route_tables.pop(extra.id)
    original = ec2.route_tables
    ec2.route_tables = _GrowsWhileRead(original, (extra.id, extra))
    yield ec2, Interface(subnet.id, (), True, "10.9.1.10/32")
    ec2.route_tables = original


def test_a_network_decision_is_made_while_another_thread_adds_a_route_table(host_whose_route_tables_grow_while_read):
    ec2, host = host_whose_route_tables_grow_while_read
    assert reachability.host_reaches_internet(ec2, host) is True
    assert ec2.route_tables.newcomer is None  # it did grow during the first read


def test_the_same_read_undecorated_fails_with_cpythons_error(host_whose_route_tables_grow_while_read):
    """The test above has teeth: the undecorated read gets the error two threads give."""
    ec2, host = host_whose_route_tables_grow_while_read
    with pytest.raises(RuntimeError, match="changed size during iteration") as raised:
        reachability.host_reaches_internet.__wrapped__(ec2, host)  # type: ignore[attr-defined]
    assert changed_meanwhile(raised.value)


def test_only_a_read_that_lost_the_race_is_made_again():
    calls = []

    @read_again_if_changed
    def broken() -> None:
        calls.append(1)
        raise RuntimeError("the function's own bug")

    with pytest.raises(RuntimeError, match="own bug"):
        broken()
    assert len(calls) == 1
    assert changed_meanwhile(RuntimeError("Set changed size during iteration"))
    assert changed_meanwhile(RuntimeError("OrderedDict mutated during iteration"))
    assert changed_meanwhile(RuntimeError("dictionary keys changed during iteration"))
    assert not changed_meanwhile(ValueError("dictionary changed size during iteration"))
