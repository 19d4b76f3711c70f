"""Public keys that organisations register to sign end-user tokens on their own backend."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from parlour.errors import InvalidInput

PublicKey = Ed25519PublicKey | EllipticCurvePublicKey
MAX_PEM_CHARS = 4096


def parse_public_key(pem: str) -> tuple[PublicKey, str]:
    """The key and the one algorithm it may sign with; RSA, other curves and anything that is
    not a PEM public key are refused."""
    if len(pem) > MAX_PEM_CHARS:
        raise InvalidInput("the public key is too long")
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise InvalidInput("give the public key in PEM (SubjectPublicKeyInfo) form") from exc
    if isinstance(key, Ed25519PublicKey):
        return key, "EdDSA"
    if isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, SECP256R1):
        return key, "ES256"
    raise InvalidInput("only Ed25519 (EdDSA) and P-256 (ES256) public keys are accepted")
