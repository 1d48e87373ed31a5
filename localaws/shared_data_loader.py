"""One botocore data loader for every boto3 session of the local AWS process, and one for moto's models.

Each boto3 Session gets a loader of its own, which reads and decodes the JSON of each model it is
asked for again: moto makes four at import (EC2's regions and zones, its backends' regions), each
reading endpoints.json and EC2's 4 MB model, and the server's own clients use a fifth. A loader
caches what it read, and a model read is the same whichever session asks (the same search paths,
the same extras): sharing one loader reads each file once.
Only boto3 sessions share it (boto3 adds its own data folder, and with it its SDK extras, to its
loader's search paths); a plain botocore session keeps its own.
moto's own models (botocore's with moto's extras) are read by a new loader for each service, which
first lists every service botocore has (thousands of folders): one loader lists them once.
Installed before moto is imported: moto makes sessions at import.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import boto3.session

_original_setup_loader = boto3.session.Session._setup_loader
_shared: dict[Any, Any] = {}  # the sessions' data path setting -> the loader they share
_lock = threading.Lock()


def _setup_loader(self: boto3.session.Session) -> None:
    data_path = self._session.get_config_variable("data_path")
    with _lock:
        if data_path not in _shared:
            _original_setup_loader(self)
            _shared[data_path] = self._loader
            return
    self._session.register_component("data_loader", _shared[data_path])
    self._loader = _shared[data_path]


@lru_cache(maxsize=1)
def _moto_loader() -> Any:
    from moto.core import loaders
    return loaders.create_loader()


def preload(services: tuple[str, ...]) -> None:
    """Read the services' models as a server does (moto's, and its backends' region lists): in the preloaded
    process, every server it forks then has them."""
    from moto.core.base_backend import AccountSpecificBackend
    from moto.core.utils import get_service_model

    session = AccountSpecificBackend.get_session()
    for service in services:
        get_service_model(service)
        for partition in session.get_available_partitions():
            session.get_available_regions(service, partition_name=partition)


def share_among_boto3_sessions() -> None:
    boto3.session.Session._setup_loader = _setup_loader


def install() -> None:
    share_among_boto3_sessions()
    from moto.core import utils  # after the line above: importing moto makes sessions
    utils.create_loader = _moto_loader
