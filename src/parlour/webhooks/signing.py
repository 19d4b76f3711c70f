"""Standard Webhooks signatures (standardwebhooks.com), for what Parlour sends (T-84) and for
receivers, ours in the tests and any organisation's written in Python (T-85).

A delivery carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`:
space-separated `v1,<base64 HMAC-SHA256>` over `id.timestamp.body`, keyed with the endpoint's
secret (`whsec_` and base64 of 32 random bytes). Several signatures appear while a secret is
being replaced; any one that verifies will do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
TOLERANCE = timedelta(minutes=5)
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Unverified(Exception):
    """A delivery to refuse, and why (for the receiver's log, not for the sender)."""


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.digest(_key(secret), signed, hashlib.sha256)).decode()


def signed_headers(
    secrets_: Sequence[str], webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, webhook_id, timestamp, body) for s in secrets_),
    }


def verify(
    secrets_: Sequence[str], headers: Mapping[str, str], body: bytes, *, now: datetime
) -> str:
    """The delivery's id when one of its signatures is that of one of `secrets_` over these
    exact bytes and its timestamp is within five minutes of `now`; `Unverified` otherwise. A
    receiver should then refuse an id it has already handled (`ReplayGuard`)."""
    try:
        webhook_id, stamp, given = (headers[name] for name in HEADERS)
    except KeyError as missing:
        raise Unverified(f"missing header {missing}") from None
    try:
        timestamp = int(stamp)
    except ValueError:
        raise Unverified("webhook-timestamp is not a number") from None
    if abs(now.timestamp() - timestamp) > TOLERANCE.total_seconds():
        raise Unverified("webhook-timestamp is too old or too new")
    offered = given.split()
    for secret in secrets_:
        expected = signature(secret, webhook_id, timestamp, body).encode()
        # Every pair compared in full, in constant time: no early exit says how close one came.
        matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in offered]
        if any(matches):
            return webhook_id
    raise Unverified("no signature verifies")


class ReplayGuard:
    """Ids of deliveries already accepted, for as long as their timestamps would pass.

    For an organisation's receiver, in its own process: this module is the helper its code
    imports, with no database or Redis of Parlour's behind it. Parlour's own replay memory,
    single use of end-user tokens, is `parlour.keys.replay`, shared by nodes and kept across
    restarts; the two answer different parties and deliberately share nothing."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    def first_time(self, webhook_id: str, *, now: datetime) -> bool:
        self._seen = {i: until for i, until in self._seen.items() if until > now}
        if webhook_id in self._seen:
            return False
        self._seen[webhook_id] = now + 2 * TOLERANCE
        return True


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ and base64") from None
