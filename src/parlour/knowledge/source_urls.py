"""A source's address on the organisation's own site (issue 23, item 5): where a customer can
read the page an answer came from. The widget shows a citation with one as a link, so only an
address that is safe to link is kept: https, a host, no user name or password, printable ASCII
(an address with other characters is percent-encoded), at most MAX_CHARS. Parlour never
fetches it; it is the organisation's content, shown to its customers as it was given."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from parlour.errors import InvalidInput

MAX_CHARS = 2_000
_PRINTABLE_ASCII = re.compile(r"[!-~]+")  # no space, control or non-ASCII character
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


class InvalidSourceUrl(InvalidInput):
    code = "invalid_source_url"
    default_message = "A source's URL must be an https address with a host and no credentials."


def checked_source_url(value: str | None) -> str | None:
    """The address as it will be stored (None for none given), or InvalidSourceUrl."""
    if value is None or not value.strip():
        return None
    url = value.strip()
    if len(url) > MAX_CHARS:
        raise InvalidSourceUrl(f"a source's URL may have at most {MAX_CHARS} characters")
    if not _PRINTABLE_ASCII.fullmatch(url) or "\\" in url:
        raise InvalidSourceUrl(
            "a source's URL may hold only printable ASCII (percent-encode the rest)"
        )
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not url.lower().startswith("https://"):
        raise InvalidSourceUrl("a source's URL must start with https://")
    if "@" in parts.netloc:
        raise InvalidSourceUrl("a source's URL may not carry a user name or password")
    try:
        parts.port  # noqa: B018  # a port that is not a number raises
    except ValueError:
        raise InvalidSourceUrl("a source's URL has a port that is not a number") from None
    if not parts.hostname or not _HOST.fullmatch(parts.hostname):
        raise InvalidSourceUrl("a source's URL needs a host name")
    return url


def is_https_link(value: str | None) -> bool:
    """Whether a stored address may be shown as a link (checked again when it is shown)."""
    try:
        return value is not None and checked_source_url(value) == value
    except InvalidSourceUrl:
        return False
