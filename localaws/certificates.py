"""The local AWS's certificate authority: it stands in for the RDS CA bundle and for the
certificates of AWS's HTTPS endpoints.

AWS: every RDS instance serves TLS with a certificate of the RDS CA (rds-ca-rsa2048-g1), whose
bundle clients download (global-bundle.pem) and Amazon Linux keeps among its trusted CAs; AWS's
API endpoints (`https://<service>.<region>.amazonaws.com`) present certificates a default trust
store accepts. Here one CA, made when the local AWS starts (in its state directory, gone with
it), issues both kinds; `bundle()` is the PEM file clients verify against. EC P-256 keys: made
in microseconds, and every TLS stack the suite uses takes them.
"""
from __future__ import annotations

import datetime
import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from localaws.state import state_dir

_LOCK = threading.Lock()
NAME = "Local AWS root CA (stands in for the RDS CA)"


@dataclass(frozen=True)
class Issued:
    certificate: Path
    key: Path


def _bundle_path() -> Path:
    return bundle_in(state_dir())


def _root() -> Path:
    return _bundle_path().parent


def bundle_in(state_dir: Path) -> Path:
    """Where a local AWS with this state directory keeps its CA's PEM bundle (see `bundle`)."""
    return state_dir / "ca" / "root-ca.pem"


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _authority() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    root = _root()
    cert_path, key_path = _bundle_path(), root / "root-ca.key"
    if not cert_path.exists():
        root.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
        certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                       .public_key(key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(_now() - datetime.timedelta(minutes=5))
                       .not_valid_after(_now() + datetime.timedelta(days=30))
                       .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                       .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                    content_commitment=False, key_encipherment=False,
                                                    data_encipherment=False, key_agreement=False,
                                                    encipher_only=False, decipher_only=False), critical=True)
                       .sign(key, hashes.SHA256()))
        _write_key(key_path, key)
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    return certificate, loaded


def bundle() -> Path:
    """The CA's certificate, as a PEM bundle (what global-bundle.pem is to RDS)."""
    with _LOCK:
        _authority()
    return _bundle_path()


def issue(name: str, dns_names: list[str], ip_addresses: list[str]) -> Issued:
    """A server certificate (and its key) for these names and addresses, signed by the CA."""
    with _LOCK:
        ca_certificate, ca_key = _authority()
        key = ec.generate_private_key(ec.SECP256R1())
        alternative = [x509.DNSName(dns) for dns in dns_names] + [
            x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        certificate = (x509.CertificateBuilder()
                       .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                                   (dns_names or ip_addresses)[0])]))
                       .issuer_name(ca_certificate.subject).public_key(key.public_key())
                       .serial_number(x509.random_serial_number())
                       .not_valid_before(_now() - datetime.timedelta(minutes=5))
                       .not_valid_after(_now() + datetime.timedelta(days=30))
                       .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
                       .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                       .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                       .sign(ca_key, hashes.SHA256()))
        directory = _root() / name
        directory.mkdir(parents=True, exist_ok=True)
        issued = Issued(directory / "server.pem", directory / "server.key")
        _write_key(issued.key, key)
        issued.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return issued
