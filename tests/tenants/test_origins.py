"""Allowlist entries are stored in the exact form browsers send, so matching is by equality."""

from __future__ import annotations

import pytest

from parlour.errors import InvalidInput
from parlour.tenants.origins import normalize_origin


@pytest.mark.parametrize(
    ("entry", "origin"),
    [
        ("https://Shop.Example.com", "https://shop.example.com"),
        ("https://shop.example.com/", "https://shop.example.com"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("http://localhost:8001", "http://localhost:8001"),
        ("http://[::1]:8001", "http://[::1]:8001"),
    ],
)
def test_entries_are_normalised_to_the_serialised_origin(entry: str, origin: str) -> None:
    assert normalize_origin(entry, allow_insecure=False) == origin


@pytest.mark.parametrize(
    "entry",
    [
        "shop.example.com",
        "ftp://shop.example.com",
        "https://shop.example.com/path",
        "https://*.example.com",
        "https://user@shop.example.com",
        "https://shop.example.com?x=1",
        "javascript:alert(1)",
        "null",
    ],
)
def test_entries_that_are_not_a_plain_origin_are_refused(entry: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_origin(entry, allow_insecure=True)


def test_plain_http_is_refused_outside_development_except_for_loopback() -> None:
    """T-28."""
    with pytest.raises(InvalidInput, match="https"):
        normalize_origin("http://shop.example.com", allow_insecure=False)
    assert normalize_origin("http://127.0.0.1:8001", allow_insecure=False)
