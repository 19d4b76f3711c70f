"""What identity refuses, each with its stable code. Failures that could tell an attacker which
part was wrong share one answer (T-40)."""

from __future__ import annotations

from parlour.errors import Forbidden, RateLimited, Unauthenticated


class InvalidCredentials(Unauthenticated):
    # One answer for an unknown e-mail, a wrong password and a disabled account (T-40).
    code = "invalid_credentials"
    default_message = "The e-mail or password is not right."


class InvalidCode(Unauthenticated):
    code = "invalid_code"
    default_message = "That code is not right, or was used already."


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    default_message = "Confirm your e-mail address first; we sent you a link."


class SessionRequired(Unauthenticated):
    code = "session_required"
    default_message = "Sign in to continue."


class WrongStage(Forbidden):
    code = "wrong_stage"
    default_message = "Finish signing in first."


class ReauthenticationRequired(Forbidden):
    code = "reauthentication_required"
    default_message = "Confirm your password and a code to do this."


class NotPermitted(Forbidden):
    code = "not_permitted"
    default_message = "Your role in this organisation does not allow this."


class TooManyAttempts(RateLimited):
    code = "too_many_attempts"
    default_message = "Too many attempts; wait a few minutes and try again."
