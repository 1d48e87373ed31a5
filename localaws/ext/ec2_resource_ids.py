"""EC2 resource ids (vpc-…, vol-…, snap-…) drawn with one random call each instead of one per character.

moto 5.2.5 makes each id's hex digits with random.choice, one call per digit; at start each
region's EC2 backend registers its image catalogue (about 1,300 images, each with a volume and a
snapshot: about 45,000 calls, a quarter second of CPU per run). The same ids: `size` independent,
uniformly drawn hex digits, from moto's own random source (which moto's seed API still seeds).
Not an AWS behaviour: only the CPU it costs changes.
"""
from __future__ import annotations

from moto.ec2 import utils
from moto.moto_api._internal import mock_random


def random_resource_id(size: int = 8) -> str:
    return f"{mock_random.getrandbits(4 * size):0{size}x}"


def install() -> None:
    utils.random_resource_id = random_resource_id
