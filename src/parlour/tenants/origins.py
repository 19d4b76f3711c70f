"""Web origins as browsers send them, so that an allowlist compares by exact string."""

from __future__ import annotations

from urllib.parse import urlsplit

from parlour.errors import InvalidInput
from parlour.identifiers import check_identifier

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}


def normalize_origin(value: str, *, allow_insecure: bool) -> str:
    """The serialised origin (`scheme://host[:port]`) an allowlist entry stands for.

    Browsers send origins in exactly this form (lower-case, no default port, no path), so the
    gateway compares the raw `Origin` header with these strings and nothing else: a variant in
    case, port, trailing slash or scheme is a different origin (T-18).
    """
    # Checked before parsing: urlsplit drops tabs and line breaks without a word (T-90).
    raw = check_identifier(value.strip(), "an origin")
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidInput(f"origin {value!r} must start with https://")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidInput(f"origin {value!r} must be scheme://host[:port] only")
    host = (parts.hostname or "").lower()
    if not host or "*" in host:
        raise InvalidInput(f"origin {value!r} needs a host name, without wildcards")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"origin {value!r} has an invalid port") from exc
    if scheme == "http" and not allow_insecure and host not in _LOOPBACK_HOSTS:
        raise InvalidInput(f"origin {value!r} must use https://")
    suffix = "" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}"
    return f"{scheme}://{host}{suffix}"


def is_loopback_origin(origin: str) -> bool:
    """Whether a browser's `Origin` names this machine (where a sandbox widget may run)."""
    parts = urlsplit(origin)
    host = (parts.hostname or "").lower()
    return parts.scheme in _DEFAULT_PORTS and (
        host in _LOOPBACK_HOSTS or f"[{host}]" in _LOOPBACK_HOSTS
    )
