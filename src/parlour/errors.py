"""The error tree. Each error has a stable machine `code`; web/errors.py alone maps them to HTTP
statuses and WebSocket close codes, so feature code never thinks about transports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ParlourError(Exception):
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Something went wrong on our side."

    def __init__(self, message: str | None = None, *, details: Mapping[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = dict(details or {})
        super().__init__(self.message)


class InvalidInput(ParlourError):
    code = "invalid_input"
    default_message = "The request is not valid."


class InvalidIdentifier(InvalidInput):
    # A name or id a client chose holds a control, bidirectional or invisible character (T-90).
    code = "invalid_identifier"
    default_message = "Names may not contain control or invisible formatting characters."


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"
    default_message = "This kind of content is not accepted here."


class Unauthenticated(ParlourError):
    code = "unauthenticated"
    default_message = "Valid credentials are required."


class InvalidToken(Unauthenticated):
    # One message for every failure so a caller learns nothing about why a token was refused.
    code = "invalid_token"
    default_message = "The token is not valid."


class TokenExpired(Unauthenticated):
    # Said plainly: the client knows the expiry already, and needs to know to fetch a new token.
    code = "token_expired"
    default_message = "The token has expired; get a fresh one."


class Forbidden(ParlourError):
    code = "forbidden"
    default_message = "This credential may not do that."


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"
    default_message = "This origin is not allowed for this widget."


class AppNotAllowed(Forbidden):
    code = "app_not_allowed"
    default_message = "This app is not allowed for this widget."


class NotFound(ParlourError):
    code = "not_found"
    default_message = "Not found."


class Conflict(ParlourError):
    code = "conflict"
    default_message = "The request conflicts with the current state."


class PayloadTooLarge(ParlourError):
    code = "payload_too_large"
    default_message = "The request is too large."


class RateLimited(ParlourError):
    code = "rate_limited"
    default_message = "Too many requests; slow down."


class Unavailable(ParlourError):
    code = "unavailable"
    default_message = "The service is temporarily unavailable."
