"""The AWS a fidelity test runs against: the local AWS (offline, the default) or an account (`-m live`).

A test sees only what both have: a client factory, a region, the account id (read from STS, as a
test against AWS must), the identity the default client signs as, where this machine reaches an
instance from, and the CA bundle RDS certificates chain to. `mode` is for messages, never to branch on.
"""
from __future__ import annotations

import math
import os
import urllib.request
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import boto3

from localaws.service import LocalAWS
from suite.credentials import Credentials
from suite.targets import live_preflight, rds_global_bundle



def caller_cidr() -> str:
    """The address this machine's connections to a live instance come from (override: SMDEMO_ADMIN_CIDR):
    the fidelity tests of SSH to an instance admit it (the suite itself opens no inbound rule)."""
    if os.environ.get("SMDEMO_ADMIN_CIDR"):
        return os.environ["SMDEMO_ADMIN_CIDR"]
    with urllib.request.urlopen("https://checkip.amazonaws.com", timeout=10) as answer:
        return answer.read().decode().strip() + "/32"


@dataclass(frozen=True)
class FidelityAWS:
    mode: str
    region: str
    client_factory: Callable[[str, Credentials | None], Any]
    caller: Credentials  # the access key the default client signs with
    admin_cidr: Callable[[], str]  # where this machine's connections to an instance come from
    rds_ca_bundle: Callable[[], str]  # PEM: what a TLS client verifies an RDS instance with
    created: list[dict[str, Any]] = field(default_factory=list)  # live: what the run made (see CREATING)
    stack_poll: float = 5.0  # seconds between a stack waiter's polls: a local stack moves in fractions of one

    def waiter_config(self, timeout: float) -> dict[str, int | float]:
        """A boto3 WaiterConfig polling every `stack_poll` seconds for `timeout` seconds in all."""
        return {"Delay": self.stack_poll, "MaxAttempts": max(1, math.ceil(timeout / self.stack_poll))}

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        return self.client_factory(service, credentials)

    @cached_property
    def account_id(self) -> str:
        return self.client("sts").get_caller_identity()["Account"]

    @cached_property
    def caller_arn(self) -> str:
        """The ARN of the identity the default client signs as."""
        return self.client("sts").get_caller_identity()["Arn"]

    @property
    def caller_principal(self) -> str:
        """The caller as a policy names it: an IAM user's ARN, or for an assumed-role session its role's."""
        if ":assumed-role/" not in self.caller_arn:
            return self.caller_arn
        role = self.caller_arn.split(":assumed-role/", 1)[1].split("/", 1)[0]
        return f"arn:aws:iam::{self.account_id}:role/{role}"


def offline_aws(local: LocalAWS) -> FidelityAWS:
    admin = local.admin
    assert admin is not None, "the local AWS was not started"
    return FidelityAWS(mode="offline", region=local.region, client_factory=local.client,
                       caller=Credentials(admin.access_key_id, admin.secret_access_key),
                       admin_cidr=lambda: "127.0.0.1/32", rds_ca_bundle=lambda: local.rds_ca_bundle.read_text(),
                       stack_poll=0.1)


# The calls that make something that bills or stays: a live run lists what they made, for deleting by hand.
CREATING = ("Create", "Run", "Register", "Import", "Put", "Allocate", "Start")
IDENTIFIER_SUFFIXES = ("Arn", "ARN", "Id", "Name")


def identifiers(answer: Any) -> dict[str, str]:
    """The names, ids and ARNs in an answer (never a value: nothing else is kept)."""
    found: dict[str, str] = {}
    if isinstance(answer, dict):
        for key, value in answer.items():
            if isinstance(value, str) and key.endswith(IDENTIFIER_SUFFIXES):
                found[key] = value
            elif key != "ResponseMetadata":
                found.update(identifiers(value))
    elif isinstance(answer, list):
        for item in answer:
            found.update(identifiers(item))
    return found


def live_aws(region: str | None) -> FidelityAWS:
    """The configured account, checked as the suite's live mode checks it (suite/targets.py:
    credentials, a region with Secrets Manager, AWS answering); EnvironmentProblem says what is missing."""
    session, _ = live_preflight(region)

    created: list[dict[str, Any]] = []

    def record(http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name.startswith(CREATING) and http_response.status_code < 300:
            created.append({"service": model.service_model.service_name, "operation": model.name,
                            **identifiers(parsed)})

    def client(service: str, credentials: Credentials | None = None) -> Any:
        if credentials is None:
            made = session.client(service)
        else:
            made = boto3.client(service, region_name=session.region_name, **credentials.as_client_kwargs())
        made.meta.events.register("after-call", record)
        return made

    frozen = session.get_credentials().get_frozen_credentials()
    return FidelityAWS(mode="live", region=session.region_name, client_factory=client,
                       caller=Credentials(frozen.access_key, frozen.secret_key, frozen.token),
                       admin_cidr=caller_cidr, rds_ca_bundle=rds_global_bundle, created=created)
