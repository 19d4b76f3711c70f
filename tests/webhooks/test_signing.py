"""Standard Webhooks signatures: what Parlour signs (T-84), and what a receiver refuses (T-85),
with each endpoint's own secret (T-86)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from parlour.webhooks.signing import (
    ReplayGuard,
    Unverified,
    new_secret,
    signature,
    signed_headers,
    verify,
)

# The Standard Webhooks specification's published test vector: a receiver using any of its
# libraries verifies what Parlour signs.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
BODY = b'{"type":"message.created","data":{"text":"hello"}}'


def _signed(secret: str, *, at: datetime = NOW, body: bytes = BODY) -> dict[str, str]:
    return signed_headers([secret], "delivery-1", int(at.timestamp()), body)


def test_a_delivery_is_signed_as_the_standard_webhooks_specification_says() -> None:
    """T-84"""
    assert signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    at = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)
    headers = signed_headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    assert verify([SPEC_SECRET], headers, SPEC_BODY, now=at) == SPEC_ID


def test_the_signature_is_an_hmac_sha256_of_id_timestamp_and_the_raw_body() -> None:
    """T-84"""
    secret = new_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    assert len(key) == 32
    expected = hmac.new(key, b"delivery-1.1700000000." + BODY, hashlib.sha256).digest()
    assert signature(secret, "delivery-1", 1700000000, BODY) == (
        "v1," + base64.b64encode(expected).decode()
    )


def test_a_body_changed_by_one_byte_is_refused() -> None:
    """T-85: verification is on the raw bytes received."""
    secret = new_secret()
    headers = _signed(secret)
    with pytest.raises(Unverified, match="no signature"):
        verify([secret], headers, BODY.replace(b"hello", b"hellO"), now=NOW)
    # Re-encoding the same JSON differently is a change too.
    with pytest.raises(Unverified):
        verify([secret], headers, BODY.replace(b":", b": "), now=NOW)


def test_a_delivery_signed_with_another_secret_is_refused() -> None:
    """T-85, T-86: each endpoint has its own secret, so a delivery signed for one
    organisation's endpoint does not verify at another's."""
    ours, theirs = new_secret(), new_secret()
    assert ours != theirs
    with pytest.raises(Unverified):
        verify([ours], _signed(theirs), BODY, now=NOW)


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_delivery_missing_a_header_is_refused(header: str) -> None:
    """T-85"""
    secret = new_secret()
    headers = _signed(secret)
    del headers[header]
    with pytest.raises(Unverified, match="missing header"):
        verify([secret], headers, BODY, now=NOW)


@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_more_than_five_minutes_off_is_refused(skew: timedelta) -> None:
    """T-85: an old delivery replayed later, or one dated ahead, does not verify."""
    secret = new_secret()
    with pytest.raises(Unverified, match="too old or too new"):
        verify([secret], _signed(secret, at=NOW + skew), BODY, now=NOW)
    assert verify([secret], _signed(secret, at=NOW - timedelta(minutes=4)), BODY, now=NOW)


def test_a_delivery_seen_before_is_recognised_as_a_replay() -> None:
    """T-85: the same delivery sent again (its id) is handled once."""
    secret, guard = new_secret(), ReplayGuard()
    delivery = verify([secret], _signed(secret), BODY, now=NOW)
    assert guard.first_time(delivery, now=NOW)
    again = verify([secret], _signed(secret), BODY, now=NOW + timedelta(seconds=30))
    assert not guard.first_time(again, now=NOW + timedelta(seconds=30))
    assert guard.first_time("delivery-2", now=NOW)


def test_any_of_several_signatures_verifies_while_a_secret_is_replaced() -> None:
    """T-85: a sender signing with the old and the new secret reaches receivers holding
    either."""
    old, new = new_secret(), new_secret()
    headers = signed_headers([old, new], "delivery-1", int(NOW.timestamp()), BODY)
    assert len(headers["webhook-signature"].split()) == 2
    assert verify([old], headers, BODY, now=NOW) == "delivery-1"
    assert verify([new], headers, BODY, now=NOW) == "delivery-1"
    with pytest.raises(Unverified):
        verify([new_secret()], headers, BODY, now=NOW)


def test_a_secret_not_in_the_whsec_format_is_refused() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        signature("plain-secret", "delivery-1", 1, BODY)
