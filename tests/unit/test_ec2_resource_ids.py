"""EC2 ids drawn with one random call (localaws/ext/ec2_resource_ids.py): moto's form, every hex digit used."""
from __future__ import annotations

import re

import pytest
from moto.ec2 import utils

from localaws.ext import ec2_resource_ids


@pytest.fixture(autouse=True)
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(utils, "random_resource_id", utils.random_resource_id)
    ec2_resource_ids.install()


def test_an_id_has_moto_s_form():
    assert re.fullmatch(r"vpc-[0-9a-f]{17}", utils.random_vpc_id())
    assert re.fullmatch(r"[0-9a-f]{8}", utils.random_resource_id())
    assert re.fullmatch(r"[0-9a-f]{17}", utils.random_resource_id(17))


def test_every_digit_is_drawn_in_every_place():
    drawn = [utils.random_resource_id(17) for _ in range(2000)]
    assert all({each[place] for each in drawn} == set("0123456789abcdef") for place in range(17))
    assert len(set(drawn)) == len(drawn)
