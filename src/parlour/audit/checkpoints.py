"""Checkpoints: the platform key signs a chain's head (seq, hash) from time to time, so even an
attacker who rewrites a whole chain, hashes and all, or cuts off its tail, is found out: they
cannot sign a matching checkpoint."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parlour.audit.chain import canonical_json, timestamp


@dataclass(frozen=True, slots=True)
class Checkpoint:
    chain: str
    seq: int
    hash: str
    signed_at: datetime
    key_id: str
    signature: bytes


def _statement(chain: str, seq: int, head_hash: str, signed_at: datetime) -> bytes:
    return canonical_json(
        ["parlour-audit-checkpoint/v1", chain, seq, head_hash, timestamp(signed_at)]
    ).encode()


class CheckpointSigner:
    """Signs with the first seed's key; verifies with any of them (keys of previous master keys
    stay trusted while they are configured)."""

    def __init__(self, seeds: Sequence[bytes]) -> None:
        if not seeds:
            raise ValueError("a checkpoint signer needs at least one key")
        self._keys = [Ed25519PrivateKey.from_private_bytes(seed) for seed in seeds]
        self._by_id = {_key_id(key): key for key in self._keys}
        self.key_id = _key_id(self._keys[0])

    def sign(self, chain: str, seq: int, head_hash: str, signed_at: datetime) -> Checkpoint:
        signature = self._keys[0].sign(_statement(chain, seq, head_hash, signed_at))
        return Checkpoint(chain, seq, head_hash, signed_at, self.key_id, signature)

    def is_authentic(self, checkpoint: Checkpoint) -> bool:
        key = self._by_id.get(checkpoint.key_id)
        if key is None:
            return False
        statement = _statement(
            checkpoint.chain, checkpoint.seq, checkpoint.hash, checkpoint.signed_at
        )
        try:
            key.public_key().verify(checkpoint.signature, statement)
        except InvalidSignature:
            return False
        return True


def _key_id(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ck_" + hashlib.sha256(raw).hexdigest()[:16]
