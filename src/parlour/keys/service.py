"""API keys, signing keys and end-user tokens, with storage."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import (
    Actor,
    ActorType,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    ClientKeyRegistered,
    ClientKeyRevoked,
    SigningKeyCreated,
    SigningKeyRetired,
)
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.errors import Forbidden, InvalidInput, InvalidToken, NotFound, Unauthenticated
from parlour.identifiers import check_identifier
from parlour.keys import api_keys, tokens
from parlour.keys.client_keys import PublicKey, parse_public_key
from parlour.keys.models import (
    VISITOR_PREFIX,
    ApiKey,
    ClientKey,
    EndUser,
    IssuedApiKey,
    MintedToken,
    Scope,
    SigningKey,
)
from parlour.keys.replay import ReplayCache
from parlour.keys.repository import (
    ApiKeyRepository,
    ClientKeyRepository,
    RevocationRepository,
    SigningKeyRepository,
)
from parlour.storage.database import Database
from parlour.storage.types import utcnow

# A fixed digest to compare against when the key id is unknown, so that an unknown id and a wrong
# secret take the same path.
_UNKNOWN_KEY_DIGEST = api_keys.digest("parlour_sk_unknown")


class KeyService:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        *,
        issuer: str,
        end_user_ttl: timedelta,
        leeway: timedelta,
        replay: ReplayCache,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._replay = replay
        self._issuer = issuer
        self._ttl = end_user_ttl
        self._leeway = leeway

    # API keys

    async def create_api_key(
        self,
        tenant_id: str,
        *,
        label: str,
        scopes: Iterable[Scope] = (Scope.MINT_END_USER_TOKENS, Scope.REVOKE_END_USERS),
        expires_at: datetime | None = None,
        actor: Actor,
    ) -> IssuedApiKey:
        async with self._db.transaction() as conn:
            return await self._create_api_key(
                conn, tenant_id, label=label, scopes=scopes, expires_at=expires_at, actor=actor
            )

    async def _create_api_key(
        self,
        conn: AsyncConnection,
        tenant_id: str,
        *,
        label: str,
        scopes: Iterable[Scope],
        expires_at: datetime | None,
        actor: Actor,
    ) -> IssuedApiKey:
        scope_set = frozenset(scopes)
        if not scope_set:
            raise InvalidInput("an API key needs at least one scope")
        key_id, secret = api_keys.new_key()
        key = ApiKey(
            tenant_id=tenant_id,
            key_id=key_id,
            label=check_identifier(label.strip(), "an API key's label")[:200] or "API key",
            digest=api_keys.digest(secret),
            scopes=scope_set,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        event = ApiKeyCreated(
            key_id=key_id,
            label=key.label,
            scopes=sorted(scope_set),
            expires_at=expires_at.isoformat() if expires_at else None,
        )
        await ApiKeyRepository(conn).insert(key)
        await self._audit.record(conn, tenant_id, event, actor)
        return IssuedApiKey(key=key, secret=secret)

    async def authenticate(self, secret: str | None, *, scope: Scope) -> ApiKey:
        """The key behind a presented secret, if it is valid now and carries `scope`."""
        key_id = api_keys.parse_key_id(secret) if secret else None
        key = None
        if key_id is not None:
            async with self._db.read() as conn:
                key = await ApiKeyRepository(conn).find_by_key_id(key_id)
        stored = key.digest if key else _UNKNOWN_KEY_DIGEST
        if not (secret and api_keys.matches(secret, stored)) or key is None:
            raise Unauthenticated("A valid API key is required.")
        if not key.usable_at(utcnow()):
            raise Unauthenticated("A valid API key is required.")
        if scope not in key.scopes:
            raise Forbidden(f"This API key lacks the {scope.value} scope.")
        return key

    async def rotate_api_key(
        self, tenant_id: str, key_id: str, *, overlap: timedelta, actor: Actor
    ) -> IssuedApiKey:
        """A new key with the old one's label, scopes and lifetime; the old one keeps working for
        `overlap` (while the backend switches), then stops (T-47)."""
        now = utcnow()
        async with self._db.read() as conn:
            old = await ApiKeyRepository(conn).find_by_key_id(key_id)
        if old is None or old.tenant_id != tenant_id or not old.usable_at(now):
            raise NotFound("no such active API key")
        lifetime = old.expires_at - old.created_at if old.expires_at else None
        stops_at = now + overlap
        async with self._db.transaction() as conn:
            issued = await self._create_api_key(
                conn,
                tenant_id,
                label=old.label,
                scopes=old.scopes,
                expires_at=now + lifetime if lifetime else None,
                actor=actor,
            )
            await ApiKeyRepository(conn).revoke(tenant_id, key_id, stops_at)
            event = ApiKeyRotated(key_id, issued.key.key_id, stops_at.isoformat())
            await self._audit.record(conn, tenant_id, event, actor)
        return issued

    async def revoke_api_key(self, tenant_id: str, key_id: str, *, actor: Actor) -> None:
        async with self._db.transaction() as conn:
            if not await ApiKeyRepository(conn).revoke(tenant_id, key_id, utcnow()):
                raise NotFound("no such active API key")
            await self._audit.record(conn, tenant_id, ApiKeyRevoked(key_id), actor)

    async def list_api_keys(self, tenant_id: str) -> list[ApiKey]:
        async with self._db.read() as conn:
            return await ApiKeyRepository(conn).list(tenant_id)

    # Signing keys and end-user tokens

    async def ensure_signing_key(self, tenant_id: str) -> SigningKey:
        async with self._db.read() as conn:
            current = await SigningKeyRepository(conn).current(tenant_id)
        if current is not None:
            return current
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction() as conn:
            repo = SigningKeyRepository(conn)
            current = await repo.current(tenant_id)  # another request may have made it
            if current is not None:
                return current
            private = Ed25519PrivateKey.generate()
            kid = secrets.token_urlsafe(12)
            key = SigningKey(
                tenant_id=tenant_id,
                kid=kid,
                algorithm=tokens.ALGORITHM,
                public_key=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
                # Recoverable, so sealed with the tenant's data key rather than hashed (T-48).
                private_key_sealed=cipher.seal(
                    private.private_bytes_raw(), _private_key_place(kid)
                ),
                created_at=utcnow(),
            )
            await repo.insert(key)
            await self._audit.record(
                conn, tenant_id, SigningKeyCreated(kid), Actor(ActorType.SYSTEM, "keys")
            )
            return key

    async def mint_end_user_token(
        self,
        tenant_id: str,
        *,
        widget_id: str,
        user_id: str,
        origin: str | None = None,
        app_id: str | None = None,
        traits: dict[str, str] | None = None,
    ) -> MintedToken:
        check_identifier(user_id, "a user id")
        if user_id.startswith(VISITOR_PREFIX):
            raise InvalidInput(f"user ids starting with {VISITOR_PREFIX!r} are reserved")
        for trait, value in (traits or {}).items():
            check_identifier(value, f"the end user's {trait}")
        key = await self.ensure_signing_key(tenant_id)
        return tokens.sign_end_user_token(
            await self._private_key(key),
            key.kid,
            issuer=self._issuer,
            tenant_id=tenant_id,
            widget_id=widget_id,
            user_id=user_id,
            origin=origin,
            app_id=app_id,
            traits=traits or {},
            now=utcnow(),
            ttl=self._ttl,
        )

    async def mint_call_token(
        self, tenant_id: str, *, audience: str, subject: str, scope: str
    ) -> str:
        """Parlour's credential for one request to the tenant's own server (its MCP server),
        signed with the tenant's key, so the server checks it against the published JWKS."""
        key = await self.ensure_signing_key(tenant_id)
        return tokens.sign_call_token(
            await self._private_key(key),
            key.kid,
            issuer=self._issuer,
            audience=audience,
            tenant_id=tenant_id,
            subject=subject,
            scope=scope,
            now=utcnow(),
        )

    async def mint_visitor_token(
        self,
        tenant_id: str,
        *,
        widget_id: str,
        origin: str | None,
        app_id: str | None,
        visitor_id: str | None = None,
    ) -> MintedToken:
        """A token for an anonymous visitor: a new identity, or the same one again (rotated on
        every connection so that it, too, is single use)."""
        key = await self.ensure_signing_key(tenant_id)
        return tokens.sign_end_user_token(
            await self._private_key(key),
            key.kid,
            issuer=self._issuer,
            tenant_id=tenant_id,
            widget_id=widget_id,
            user_id=visitor_id or VISITOR_PREFIX + secrets.token_urlsafe(16),
            origin=origin,
            app_id=app_id,
            traits={},
            now=utcnow(),
            ttl=tokens.VISITOR_TTL,
            token_type=tokens.VISITOR_TOKEN_TYPE,
        )

    async def verify_end_user_token(
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
            visitor=visitor,
        )
        if await self._revoked(user):
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
        revoked = await self._revocations(users)
        return [
            keys_in_force[user.tenant_id, user.key_id, not user.visitor]
            and not _revoked_by(user, revoked.get((user.tenant_id, user.user_id)))
            for user in users
        ]

    async def _revoked(self, user: EndUser) -> bool:
        revoked = await self._revocations([user])
        return _revoked_by(user, revoked.get((user.tenant_id, user.user_id)))

    async def _revocations(self, users: Sequence[EndUser]) -> dict[tuple[str, str], datetime]:
        by_tenant: dict[str, set[str]] = {}
        for user in users:
            by_tenant.setdefault(user.tenant_id, set()).add(user.user_id)
        found: dict[tuple[str, str], datetime] = {}
        async with self._db.read() as conn:
            repository = RevocationRepository(conn)
            for tenant_id, user_ids in by_tenant.items():
                before = await repository.revoked_before_many(tenant_id, sorted(user_ids))
                found.update(((tenant_id, user_id), at) for user_id, at in before.items())
        return found

    async def _key_in_force(
        self, tenant_id: str, kid: str, *, client_allowed: bool
    ) -> SigningKey | ClientKey | None:
        """The tenant's key with this id, if it may still sign: one of Parlour's keys (not
        retired), or a key the tenant registered for its own backend (not revoked)."""
        async with self._db.read() as conn:
            key = await SigningKeyRepository(conn).get(tenant_id, kid)
            if key is not None:
                return key if _valid_at(key, utcnow()) else None
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

    async def register_client_key(
        self, tenant_id: str, public_key_pem: str, *, actor: Actor
    ) -> ClientKey:
        """Register a public key the organisation's backend will sign end-user tokens with."""
        _, algorithm = parse_public_key(public_key_pem)
        key = ClientKey(
            tenant_id=tenant_id,
            kid="ck_" + secrets.token_urlsafe(12),
            algorithm=algorithm,
            public_key_pem=public_key_pem.strip(),
            created_at=utcnow(),
        )
        async with self._db.transaction() as conn:
            await ClientKeyRepository(conn).insert(key)
            await self._audit.record(
                conn, tenant_id, ClientKeyRegistered(key.kid, algorithm), actor
            )
        return key

    async def revoke_client_key(self, tenant_id: str, kid: str, *, actor: Actor) -> None:
        """Tokens signed with this key stop working at once, on open sockets too."""
        async with self._db.transaction() as conn:
            if not await ClientKeyRepository(conn).revoke(tenant_id, kid, utcnow()):
                raise NotFound("no such active client key")
            await self._audit.record(conn, tenant_id, ClientKeyRevoked(kid), actor)

    async def revoke_end_user(self, tenant_id: str, user_id: str) -> None:
        """Every token issued to this end user until now stops working, on open sockets too."""
        check_identifier(user_id, "a user id")
        async with self._db.transaction() as conn:
            await RevocationRepository(conn).revoke_before(tenant_id, user_id, utcnow())

    async def rotate_signing_key(
        self, tenant_id: str, *, overlap: timedelta, actor: Actor
    ) -> SigningKey:
        """A new signing key; tokens signed by the old ones stay valid for `overlap` (zero: at
        once, which also closes the sockets they opened at their next check)."""
        retire_at = utcnow() + overlap
        async with self._db.transaction() as conn:
            retired = await SigningKeyRepository(conn).retire_all(tenant_id, retire_at)
            for kid in retired:
                await self._audit.record(
                    conn, tenant_id, SigningKeyRetired(kid, retire_at.isoformat()), actor
                )
        return await self.ensure_signing_key(tenant_id)

    async def list_signing_keys(self, tenant_id: str) -> list[SigningKey]:
        async with self._db.read() as conn:
            return await SigningKeyRepository(conn).of_tenant(tenant_id)

    async def list_client_keys(self, tenant_id: str) -> list[ClientKey]:
        async with self._db.read() as conn:
            return await ClientKeyRepository(conn).of_tenant(tenant_id)

    async def _private_key(self, key: SigningKey) -> Ed25519PrivateKey:
        async def unseal(cipher: TenantCipher) -> bytes:
            return cipher.open(key.private_key_sealed, _private_key_place(key.kid))

        return Ed25519PrivateKey.from_private_bytes(await self._vault.using(key.tenant_id, unseal))

    async def jwks(self, tenant_id: str | None = None) -> dict[str, Any]:
        """The public keys still valid: every organisation's, or only one's, so that its MCP
        servers can trust no other organisation's keys at all."""
        async with self._db.read() as conn:
            keys = await SigningKeyRepository(conn).list_valid_at(utcnow(), tenant_id)
        return {"keys": [_jwk(key) for key in keys]}


def _valid_at(key: SigningKey, moment: datetime) -> bool:
    return key.retired_at is None or key.retired_at > moment


def _private_key_place(kid: str) -> Place:
    return Place("signing_keys", kid, "private_key")


def _jwk(key: SigningKey) -> dict[str, str]:
    x = base64.urlsafe_b64encode(key.public_key).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key.kid, "alg": "EdDSA", "use": "sig"}


def _revoked_by(user: EndUser, revoked_before: datetime | None) -> bool:
    """A revocation covers the tokens issued before it."""
    return bool(revoked_before and user.issued_at and user.issued_at < revoked_before)
