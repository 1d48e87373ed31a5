"""boto3 sessions of the local AWS share one data loader (localaws/shared_data_loader.py): each model is read once,
and a session's models are what its own loader would have read."""
from __future__ import annotations

import boto3.session
import botocore.session
import pytest

from localaws import shared_data_loader


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boto3.session.Session, "_setup_loader", boto3.session.Session._setup_loader)
    monkeypatch.setattr(shared_data_loader, "_shared", {})
    shared_data_loader.install()


def ec2_model(session: boto3.session.Session) -> dict:
    return session._session.get_component("data_loader").load_service_model("ec2", "service-2")


def test_sessions_share_one_loader_and_read_each_model_once(installed: None):
    first, second = boto3.session.Session(), boto3.session.Session(region_name="eu-west-1")
    assert first._loader is second._loader
    assert second._session.get_component("data_loader") is first._loader
    assert ec2_model(first) is ec2_model(second)
    assert first._loader.search_paths.count(first._loader.search_paths[-1]) == 1  # boto3's folder, once
    assert second.get_available_regions("ec2") == first.get_available_regions("ec2")


def test_a_shared_model_is_the_one_a_session_of_its_own_reads(installed: None):
    shared = boto3.session.Session()
    boto3.session.Session()
    own = boto3.session.Session(botocore_session=botocore.session.Session())
    monkey_free = shared_data_loader._original_setup_loader
    alone = boto3.session.Session.__new__(boto3.session.Session)
    alone._session = botocore.session.Session()
    monkey_free(alone)
    assert ec2_model(shared) == alone._loader.load_service_model("ec2", "service-2")
    assert shared._loader.search_paths == alone._loader.search_paths
    assert own.client("secretsmanager", region_name="us-east-1").meta.service_model.operation_names == \
        shared.client("secretsmanager", region_name="us-east-1").meta.service_model.operation_names


def test_a_plain_botocore_session_keeps_its_own_loader(installed: None):
    boto3.session.Session()
    plain = botocore.session.Session()
    assert plain.get_component("data_loader") is not shared_data_loader._shared[None]


def test_moto_reads_its_models_with_one_loader_and_the_same_models(monkeypatch: pytest.MonkeyPatch):
    from moto.core import loaders, utils
    monkeypatch.setattr(utils, "create_loader", utils.create_loader)
    shared_data_loader.install()
    assert utils.create_loader() is utils.create_loader()
    for service in ("ec2", "secretsmanager"):
        assert utils._load_service_model(service, "service-2") == \
            loaders.create_loader().load_service_model(service, "service-2")


def test_preloaded_models_are_the_ones_a_server_reads(installed: None, monkeypatch: pytest.MonkeyPatch):
    from moto.core import utils
    from moto.core.base_backend import AccountSpecificBackend
    monkeypatch.setattr(utils, "create_loader", utils.create_loader)
    shared_data_loader.install()
    shared_data_loader.preload(("secretsmanager",))
    loader = AccountSpecificBackend.get_session()._loader  # the session moto's backends ask for their regions
    assert any(key[:2] == ("load_service_model", "secretsmanager") for key in loader._cache)
    assert utils.get_service_model("secretsmanager").service_name == "secretsmanager"
