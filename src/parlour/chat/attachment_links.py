"""Signed links to attachments and signed upload tickets (T-102).

A link names one attachment's `original` or `thumbnail` and lasts a few minutes:
`{public_url}/v1/attachments/{tenant_id}/{attachment_id}/{kind}?exp=…&sig=…`, where `sig` is an
HMAC-SHA256 (the standard library's, as the rest of Parlour keys its digests) over the tenant,
the conversation the attachment belongs to, its id, the kind and the expiry, under a key
derived from the master key for this purpose alone (crypto/derive.py). The conversation is in
the signature but not in the link: the server reads it from the attachment's row, so a link
whose id was changed to another conversation's attachment no longer verifies, and a link past
its expiry does not either; both are answered 404, like an id that names nothing.

An upload ticket lets a customer's client post one file to their own conversation over HTTP: a
socket frame asks for it (the socket is the customer's authentication), and it binds the tenant,
the conversation, the end user, an expiry and a random id: a JWT (PyJWT, HS256, its own `typ`)
under another derived key. The upload route checks the signature and the expiry, then spends
the id once (keys/replay.py, shared by every node), so a ticket opens one upload only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode

import jwt

from parlour.chat.models import AttachmentRef
from parlour.errors import InvalidToken, NotFound
from parlour.storage.types import Clock, utcnow

LINK_LIFETIME = timedelta(minutes=15)
TICKET_LIFETIME = timedelta(minutes=2)
TICKET_TYPE = "parlour-upload+jwt"
_TICKET_CLAIMS = ("tenant", "conversation", "sub", "jti", "exp")


class Kind(StrEnum):
    ORIGINAL = "original"
    THUMBNAIL = "thumbnail"


class InvalidUploadTicket(InvalidToken):
    code = "invalid_upload_ticket"
    default_message = "The upload ticket is not valid; ask for a new one."


@dataclass(frozen=True, slots=True)
class Ticket:
    tenant_id: str
    conversation_id: str
    user_id: str
    ticket_id: str
    expires_at: datetime


class AttachmentLinks:
    def __init__(
        self,
        link_key: bytes,
        ticket_key: bytes,
        *,
        public_url: str,
        link_lifetime: timedelta = LINK_LIFETIME,
        ticket_lifetime: timedelta = TICKET_LIFETIME,
        clock: Clock = utcnow,
    ) -> None:
        self._link_key = link_key
        self._ticket_key = ticket_key
        self._base = public_url.rstrip("/")
        self.link_lifetime = link_lifetime
        self.ticket_lifetime = ticket_lifetime
        self._clock = clock

    @property
    def upload_url(self) -> str:
        return f"{self._base}/v1/uploads"

    def link(self, tenant_id: str, conversation_id: str, attachment_id: str, kind: Kind) -> str:
        """A link to the attachment's `kind`, valid for `link_lifetime` from now."""
        expires = int((self._clock() + self.link_lifetime).timestamp())
        sig = self._sign_link(tenant_id, conversation_id, attachment_id, kind, expires)
        query = urlencode({"exp": expires, "sig": sig})
        return f"{self._base}/v1/attachments/{tenant_id}/{attachment_id}/{kind.value}?{query}"

    def check_link(
        self,
        tenant_id: str,
        conversation_id: str,
        attachment_id: str,
        kind: Kind,
        expires: str,
        sig: str,
    ) -> None:
        """NotFound unless `sig` signs exactly this and `expires` is still ahead."""
        if not expires.isdigit() or len(expires) > 12:
            raise NotFound()
        if int(expires) <= self._clock().timestamp():
            raise NotFound()
        wanted = self._sign_link(tenant_id, conversation_id, attachment_id, kind, int(expires))
        if not hmac.compare_digest(wanted.encode(), sig.encode()):
            raise NotFound()

    def frame(self, tenant_id: str, conversation_id: str, ref: AttachmentRef) -> dict[str, object]:
        """An attachment as a `message` frame carries it, with fresh links."""
        shown: dict[str, object] = {
            "id": ref.id,
            "name": ref.name,
            "content_type": ref.content_type,
            "size": ref.size,
            "url": self.link(tenant_id, conversation_id, ref.id, Kind.ORIGINAL),
            "thumbnail_url": self.link(tenant_id, conversation_id, ref.id, Kind.THUMBNAIL)
            if ref.thumbnail
            else None,
        }
        return shown

    def ticket(self, tenant_id: str, conversation_id: str, user_id: str) -> tuple[str, datetime]:
        """A new single-use ticket for one upload to this conversation by this end user."""
        expires_at = self._clock() + self.ticket_lifetime
        claims = {
            "tenant": tenant_id,
            "conversation": conversation_id,
            "sub": user_id,
            "jti": secrets.token_urlsafe(18),
            "exp": int(expires_at.timestamp()),
        }
        token = jwt.encode(
            claims, self._ticket_key, algorithm="HS256", headers={"typ": TICKET_TYPE}
        )
        return token, expires_at

    def read_ticket(self, ticket: str) -> Ticket:
        """The ticket's binding, if its signature holds and it has not expired (its single use
        is the caller's to spend). The expiry is read against this service's clock."""
        if len(ticket) > 2048:
            raise InvalidUploadTicket()
        try:
            if jwt.get_unverified_header(ticket).get("typ") != TICKET_TYPE:
                raise InvalidUploadTicket()
            claims = jwt.decode(
                ticket,
                self._ticket_key,
                algorithms=["HS256"],
                options={"require": list(_TICKET_CLAIMS), "verify_exp": False},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as bad:
            raise InvalidUploadTicket() from bad
        if not all(isinstance(claims[name], str) for name in _TICKET_CLAIMS[:-1]):
            raise InvalidUploadTicket()
        if not isinstance(claims["exp"], int):
            raise InvalidUploadTicket()
        expires_at = datetime.fromtimestamp(claims["exp"], tz=UTC)
        if expires_at <= self._clock():
            raise InvalidUploadTicket("The upload ticket has expired; ask for a new one.")
        return Ticket(
            claims["tenant"], claims["conversation"], claims["sub"], claims["jti"], expires_at
        )

    def _sign_link(
        self, tenant_id: str, conversation_id: str, attachment_id: str, kind: Kind, expires: int
    ) -> str:
        message = "\n".join(
            ("attachment-link/v1", tenant_id, conversation_id, attachment_id, kind.value)
        )
        return _b64(self._mac(self._link_key, f"{message}\n{expires}".encode()))

    @staticmethod
    def _mac(key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
