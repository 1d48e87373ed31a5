"""moto's list of its service packages, read once: its server lists moto's folder at every request.

moto 5.2.5 (moto_server/werkzeug_app.py) asks `list_of_moto_modules()` whether a request's host
names a moto package: a listing of moto's folder and a stat of each of its 170 entries, for every
request. The folder does not change while the server runs: the listing is kept.
Not an AWS behaviour: only the CPU it costs changes.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from moto import backends

_original_list = backends.list_of_moto_modules


@lru_cache(maxsize=1)
def _names() -> tuple[str, ...]:
    return tuple(_original_list())


def list_of_moto_modules() -> Iterable[str]:
    return iter(_names())


def install() -> None:
    backends.list_of_moto_modules = list_of_moto_modules
