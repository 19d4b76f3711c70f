"""End-user tokens, which open a chat session for one customer: minted for an organisation's
backend, minted for anonymous visitors, and verified at the socket.

A token is bound to one allowlisted web origin or one allowlisted app (T-18), verifies only
against the organisation's own keys (T-05), and opens one session only (T-15). An identity
proven earlier stands while its key is in force and its end user is not revoked (T-22).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from parlour.errors import InvalidInput, InvalidToken
from parlour.identifiers import check_identifier
from parlour.keys import tokens
from parlour.keys.client_keys import PublicKey, parse_public_key
from parlour.keys.models import VISITOR_PREFIX, ClientKey, EndUser, MintedToken, SigningKey
from parlour.keys.replay import ReplayCache
from parlour.keys.repository import ClientKeyRepository, SigningKeyRepository
from parlour.keys.revocation import EndUserRevocations
from parlour.keys.signing_keys import SigningKeys
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.service import TenantService


class EndUserTokens:
    def __init__(
        self,
        db: Database,
        signing_keys: SigningKeys,
        revocations: EndUserRevocations,
        tenants: TenantService,
        replay: ReplayCache,
        *,
        issuer: str,
        ttl: timedelta,
        leeway: timedelta,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._signing_keys = signing_keys
        self._revocations = revocations
        self._tenants = tenants
        self._replay = replay
        self._issuer = issuer
        self._ttl = ttl
        self._leeway = leeway
        # Tokens are minted at, and verified against, this clock's time.
        self._clock = clock

    async def mint(
        self,
        tenant_id: str,
        *,
        widget_id: str,
        user_id: str,
        origin: str | None = None,
        app_id: str | None = None,
        traits: dict[str, str] | None = None,
    ) -> MintedToken:
        """A token for the organisation's verified customer `user_id`, bound to one web origin
        or one app, which must be on the organisation's allowlist."""
        if (origin is None) == (app_id is None):
            raise InvalidInput("give either origin (web) or app_id (mobile app), not both")
        # Tokens are only ever made for an origin or app the organisation allowlisted.
        if origin is not None:
            await self._tenants.require_origin(tenant_id, origin)
        else:
            await self._tenants.require_app(tenant_id, app_id or "")
        check_identifier(user_id, "a user id")
        if user_id.startswith(VISITOR_PREFIX):
            raise InvalidInput(f"user ids starting with {VISITOR_PREFIX!r} are reserved")
        for trait, value in (traits or {}).items():
            check_identifier(value, f"the end user's {trait}")
        return await self._sign(
            tenant_id, widget_id, user_id, origin, app_id, traits or {}, ttl=self._ttl
        )

    async def mint_visitor(
        self,
        tenant_id: str,
        *,
        widget_id: str,
        origin: str | None,
        app_id: str | None,
        visitor_id: str | None = None,
    ) -> MintedToken:
        """A token for an anonymous visitor: a new identity, or the same one again (rotated on
        every connection so that it, too, is single use). Its only caller is the socket's
        admission, which has checked the origin before and checks the app on the token it
        verifies at once."""
        user_id = visitor_id or VISITOR_PREFIX + secrets.token_urlsafe(16)
        return await self._sign(
            tenant_id,
            widget_id,
            user_id,
            origin,
            app_id,
            {},
            ttl=tokens.VISITOR_TTL,
            token_type=tokens.VISITOR_TOKEN_TYPE,
        )

    async def verify(
        self, tenant_id: str, widget_id: str, token: str, *, visitor: bool = False
    ) -> EndUser:
        """The end user (or, with `visitor`, the anonymous visitor) a token proves, for opening
        or renewing one session: the token must be valid, its key and user not revoked, and the
        token not used before (single use)."""
        token_type = tokens.VISITOR_TOKEN_TYPE if visitor else tokens.END_USER_TOKEN_TYPE
        kid, algorithm = tokens.unverified_header(token, token_type)
        # Looked up within the tenant: another tenant's key id is simply unknown here (T-05).
        public_key, issuer = await self._verification_key(
            tenant_id, widget_id, kid, algorithm, client_allowed=not visitor
        )
        user = tokens.verify_end_user_token(
            token,
            public_key,
            kid=kid,
            algorithm=algorithm,
            issuer=issuer,
            tenant_id=tenant_id,
            widget_id=widget_id,
            leeway=self._leeway,
            now=self._clock(),
            visitor=visitor,
        )
        if (await self._revocations.revoked([user]))[0]:
            raise InvalidToken()
        if not await self._replay.first_use(
            tenant_id, user.token_id, user.expires_at + self._leeway
        ):
            raise InvalidToken()
        return user

    async def still_valid(self, user: EndUser) -> bool:
        """Whether an identity proven earlier still stands: its signing key is in force and the
        end user was not revoked after its token was issued (T-22)."""
        return (await self.still_valid_many([user]))[0]

    async def still_valid_many(self, users: Sequence[EndUser]) -> list[bool]:
        """`still_valid` for many identities at once, as the gateway re-checks every open
        socket: one lookup per distinct key and one revocation query per organisation."""
        keys_in_force: dict[tuple[str, str, bool], bool] = {}
        for user in users:
            wanted = (user.tenant_id, user.key_id, not user.visitor)
            if wanted not in keys_in_force:
                key = await self._key_in_force(*wanted[:2], client_allowed=wanted[2])
                keys_in_force[wanted] = key is not None
        revoked = await self._revocations.revoked(users)
        return [
            keys_in_force[user.tenant_id, user.key_id, not user.visitor] and not gone
            for user, gone in zip(users, revoked, strict=True)
        ]

    async def _sign(
        self,
        tenant_id: str,
        widget_id: str,
        user_id: str,
        origin: str | None,
        app_id: str | None,
        traits: dict[str, str],
        *,
        ttl: timedelta,
        token_type: str = tokens.END_USER_TOKEN_TYPE,
    ) -> MintedToken:
        key = await self._signing_keys.ensure(tenant_id)
        return tokens.sign_end_user_token(
            await self._signing_keys.private_key(key),
            key.kid,
            issuer=self._issuer,
            tenant_id=tenant_id,
            widget_id=widget_id,
            user_id=user_id,
            origin=origin,
            app_id=app_id,
            traits=traits,
            now=self._clock(),
            ttl=ttl,
            token_type=token_type,
        )

    async def _key_in_force(
        self, tenant_id: str, kid: str, *, client_allowed: bool
    ) -> SigningKey | ClientKey | None:
        """The tenant's key with this id, if it may still sign: one of Parlour's keys (not
        retired), or a key the tenant registered for its own backend (not revoked)."""
        async with self._db.read() as conn:
            key = await SigningKeyRepository(conn).get(tenant_id, kid)
            if key is not None:
                return key if key.valid_at(self._clock()) else None
            if not client_allowed:
                return None
            client_key = await ClientKeyRepository(conn).get(tenant_id, kid)
        return client_key if client_key is not None and client_key.revoked_at is None else None

    async def _verification_key(
        self, tenant_id: str, widget_id: str, kid: str, algorithm: str, *, client_allowed: bool
    ) -> tuple[PublicKey, str]:
        """The public key and issuer a token with this `kid` must verify against. The token's
        `alg` must be that key's one algorithm (no confusion, T-10)."""
        key = await self._key_in_force(tenant_id, kid, client_allowed=client_allowed)
        if isinstance(key, SigningKey) and algorithm == tokens.ALGORITHM:
            return Ed25519PublicKey.from_public_bytes(key.public_key), self._issuer
        if isinstance(key, ClientKey):
            public_key, key_algorithm = parse_public_key(key.public_key_pem)
            if algorithm == key_algorithm:
                return public_key, tokens.client_issuer(widget_id)
        raise InvalidToken()
