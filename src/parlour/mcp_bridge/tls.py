"""Mutual TLS with organisations' MCP servers (T-78).

Each organisation has a client certificate of its own, made on first need: an EC P-256 key,
sealed with the organisation's data key, and a self-signed certificate naming the organisation's
call-token issuer, which the organisation pins on its servers to admit Parlour alone. A server
may in turn be pinned to a CA: its certificate must chain to that CA (and name the server's
host), not merely to one the system trusts. There is no fallback: a server whose certificate
fails is not called, over TLS or otherwise.
"""

from __future__ import annotations

import datetime
import os
import secrets
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from parlour.errors import InvalidInput

CERTIFICATE_YEARS = 2
MAX_CA_PEM_CHARS = 64_000
MAX_CA_CERTIFICATES = 10


@dataclass(frozen=True)
class ClientCertificate:
    """An organisation's client certificate (public) and its private key (PEM, in memory only)."""

    certificate_pem: str
    key_pem: bytes


def new_client_certificate(issuer: str, now: datetime.datetime) -> ClientCertificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Parlour MCP client")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(issuer)]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return ClientCertificate(
        certificate.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def certificate_fingerprint(certificate_pem: str) -> str:
    """SHA-256 of the certificate (DER), in hex: how servers and audit records name it."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    return certificate.fingerprint(hashes.SHA256()).hex()


def checked_ca_pem(text: str) -> str:
    """The CA certificates (PEM) a server's certificate must chain to, checked as such."""
    text = text.strip()
    if len(text) > MAX_CA_PEM_CHARS:
        raise InvalidInput(f"a pinned CA has at most {MAX_CA_PEM_CHARS} characters")
    try:
        certificates = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise InvalidInput("the pinned CA must be PEM certificates") from None
    if not 0 < len(certificates) <= MAX_CA_CERTIFICATES:
        raise InvalidInput(f"pin 1 to {MAX_CA_CERTIFICATES} CA certificates")
    return text + "\n"


def client_context(client: ClientCertificate, pinned_ca_pem: str | None) -> ssl.SSLContext:
    """TLS for calls to one server: its certificate checked against the pinned CA if there is
    one (else the system's), its host name checked, and the organisation's certificate shown."""
    context = (
        ssl.create_default_context(cadata=pinned_ca_pem)
        if pinned_ca_pem
        else ssl.create_default_context()
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # `ssl` loads a key only from a file: it goes there encrypted under a one-time password,
    # in a folder only this process can read, for as long as loading takes.
    password = secrets.token_bytes(32)
    key = serialization.load_pem_private_key(client.key_pem, password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    with tempfile.TemporaryDirectory(prefix="parlour-tls-") as folder:
        path = Path(folder) / "client.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(client.certificate_pem.encode() + encrypted)
        context.load_cert_chain(path, password=password)
    return context
