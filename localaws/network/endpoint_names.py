"""How a sandbox finds AWS's endpoints: by name, as in AWS.

Its /etc/hosts sends each `<service>.<region>.amazonaws.com` name of the local AWS's endpoint
(localaws/network/endpoints.py) to an address inside the sandbox's network namespace: INSIDE_ENDPOINT,
forwarded to that endpoint, where the network model lets the sandbox reach the service; or
INSIDE_BLACK_HOLE, where its HTTPS connection times out, where not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from localaws.network import endpoints
from localaws.network.namespace_forwards import HOLE, Plan

INSIDE_ENDPOINT = "127.0.0.2"
INSIDE_BLACK_HOLE = "127.0.0.3"


@dataclass
class ServiceHosts:
    lines: list[str] = field(default_factory=list)  # for /etc/hosts
    refused: list[str] = field(default_factory=list)  # "name: why", for the local AWS's log
    endpoint: tuple[str, int] = ("", 443)  # where INSIDE_ENDPOINT:443 is forwarded to

    def flows(self) -> Plan:
        """The two addresses the names resolve to, wired: the endpoint, and the black hole."""
        return {(INSIDE_ENDPOINT, 443): ("forward to the local AWS's endpoint", self.endpoint),
                (INSIDE_BLACK_HOLE, 443): (HOLE, None)}


def cloudformation_response_bucket(region: str) -> str:
    """The S3 bucket CloudFormation's custom resource ResponseURLs name (AWS's own, in every region):
    a function answering a custom resource PUTs to it (localaws/ext/cfn_custom_resources.py)."""
    return "cloudformation-custom-resource-response-" + region.replace("-", "")


def service_of(name: str) -> str:
    """The service an endpoint name is for: its first label, but S3's bucket names and ECR's api.ecr."""
    if ".s3." in name:
        return "s3"
    if name.startswith("api.ecr."):
        return "ecr"
    return name.split(".", 1)[0]


def plan(region: str, why_not: Callable[[str], str | None], buckets: Sequence[str] = ()) -> ServiceHosts:
    """`why_not(service)` says why the sandbox cannot reach a service (e.g. "secretsmanager"), or None;
    `buckets`: the S3 buckets whose virtual-hosted names it resolves too."""
    endpoint = endpoints.for_region(region)
    result = ServiceHosts(endpoint=(endpoint.address, 443))
    reasons: dict[str, list[str]] = {}
    for name in endpoint.names() + endpoint.bucket_names(list(buckets)):
        why = why_not(service_of(name))
        result.lines.append(f"{INSIDE_BLACK_HOLE if why else INSIDE_ENDPOINT}\t{name}")
        if why:
            reasons.setdefault(why, []).append(name)
    for why, names in reasons.items():  # one line per reason: most names share one
        shown = ", ".join(names) if len(names) <= 3 else f"{len(names)} endpoint names ({names[0]}, ...)"
        result.refused.append(f"{shown}: {why}")
    return result
