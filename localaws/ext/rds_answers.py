"""DescribeDBInstances answers what AWS answers of an instance: its endpoint's hosted zone, the
KMS key of encrypted storage, and its server certificate.

AWS (RDS API reference, DBInstance and Endpoint): Endpoint holds Address, Port and
HostedZoneId (the region's RDS hosted zone); an instance with StorageEncrypted has KmsKeyId,
the ARN of its key (`arn:aws:kms:REGION:ACCOUNT:key/ID`, the account's aws/rds key when none
is given); CertificateDetails holds the CA (CAIdentifier, `rds-ca-rsa2048-g1` by default since
2024) and when the server certificate expires (ValidTill).
moto 5.2.5 answers an endpoint without HostedZoneId, KmsKeyId "default_kms_key_id", and no
CertificateDetails (its default CA is "rds-ca-default").
What cannot be known offline takes AWS's form: the hosted zone of the region where AWS
publishes it, else a well-formed id; the default key's id, stable per account and region.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from moto.core.utils import utcnow
from moto.rds.models import DBInstance

# The RDS hosted zone of each region (AWS General Reference, "Amazon RDS endpoints").
HOSTED_ZONES = {"us-east-1": "Z2R2ITUGPM61AM", "us-east-2": "Z2XHWR1WZ565X2", "us-west-1": "Z10WI91S59XXQN",
                "us-west-2": "Z1PVIF0B656C1W", "eu-west-1": "Z29XKXDKYMONMX", "eu-west-2": "Z1TTGA775OQIYO",
                "eu-central-1": "Z1RLNUO7B9Q6NB", "ap-southeast-1": "Z2G0U3KFCY8NZ5",
                "ap-southeast-2": "Z2999QAZ9SRTIC", "ap-northeast-1": "Z24O6O9L7SGTNB"}
DEFAULT_CA = "rds-ca-rsa2048-g1"
SERVER_CERTIFICATE_LIFETIME = timedelta(days=395)


def hosted_zone(region: str) -> str:
    return HOSTED_ZONES.get(region) or "Z" + hashlib.sha256(region.encode()).hexdigest().upper()[:13]


def default_key_arn(account_id: str, region: str) -> str:
    key = uuid.uuid5(uuid.NAMESPACE_URL, f"aws/rds:{account_id}:{region}")
    return f"arn:aws:kms:{region}:{account_id}:key/{key}"


_original_init = DBInstance.__init__


def __init__(self: DBInstance, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    if self.ca_certificate_identifier in (None, "rds-ca-default"):
        self.ca_certificate_identifier = DEFAULT_CA
    if self.storage_encrypted and self.kms_key_id in (None, "default_kms_key_id"):
        self.kms_key_id = default_key_arn(self.account_id, self.region)
    self.certificate_valid_till = utcnow() + SERVER_CERTIFICATE_LIFETIME


def endpoint(self: DBInstance) -> dict[str, Any]:
    return {"Address": self.address, "Port": self.port, "HostedZoneId": hosted_zone(self.region)}


def certificate_details(self: DBInstance) -> dict[str, Any]:
    return {"CAIdentifier": self.ca_certificate_identifier, "ValidTill": self.certificate_valid_till}


def install() -> None:
    DBInstance.__init__ = __init__
    DBInstance.endpoint = property(endpoint)
    DBInstance.certificate_details = property(certificate_details)
