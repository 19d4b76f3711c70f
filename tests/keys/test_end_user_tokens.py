"""Verifying end-user tokens (RFC 8725): only our EdDSA tokens of the right type, signed with the
tenant's own key, for this widget, in their lifetime, are accepted. Time is the services' clock,
which each test sets."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parlour.errors import InvalidToken
from parlour.keys.tokens import END_USER_TOKEN_TYPE
from parlour.services import Services
from tests.conftest import migrated_services
from tests.support import seed
from tests.support.clock import SetClock

ISSUER = "http://127.0.0.1:8000"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


class Forge:
    """Builds tokens for one organisation, right or wrong in exactly one respect."""

    def __init__(
        self,
        services: Services,
        clock: SetClock,
        org: seed.Organisation,
        private: Ed25519PrivateKey,
        kid: str,
    ):
        self.services, self.clock, self.org = services, clock, org
        self.private, self.kid = private, kid

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = self.clock.now
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": f"parlour:widget:{self.org.widget_id}",
            "sub": "customer-1",
            "tid": self.org.tenant_id,
            "origin": self.org.origin,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + timedelta(minutes=5)).timestamp()),
            "jti": "token-1",
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def header(self, **changes: Any) -> dict[str, Any]:
        header = {"alg": "EdDSA", "typ": END_USER_TOKEN_TYPE, "kid": self.kid}
        header.update(changes)
        return {k: v for k, v in header.items() if v is not None}

    def signed(self, claims: dict[str, Any] | None = None, **header: Any) -> str:
        """Signed by hand, so that any header at all can be produced."""
        signing_input = unsigned(self.header(**header), claims or self.claims())
        return f"{signing_input}.{b64(self.private.sign(signing_input.encode()))}"

    async def verify(self, token: str) -> object:
        return await self.services.end_user_tokens.verify(
            self.org.tenant_id, self.org.widget_id, token
        )


@pytest.fixture
def clock() -> SetClock:
    return SetClock()


@pytest.fixture
async def services(sqlite_url: str, tmp_path: Path, clock: SetClock) -> AsyncIterator[Services]:
    """Services that read the test's clock: minting, verifying and single use alike."""
    async with migrated_services(tmp_path, sqlite_url, clock=clock) as built:
        yield built


@pytest.fixture
async def forge(services: Services, clock: SetClock) -> Forge:
    org = await seed.organisation(services, faq=None)
    key = await services.signing_keys.ensure(org.tenant_id)
    return Forge(services, clock, org, await services.signing_keys.private_key(key), key.kid)


async def test_a_well_formed_token_verifies(forge: Forge) -> None:
    user = await forge.verify(forge.signed())
    assert user.user_id == "customer-1"  # type: ignore[attr-defined]


async def test_a_token_whose_subject_was_altered_is_rejected(forge: Forge) -> None:
    """T-03: changing `sub` after signing breaks the signature."""
    header, _, signature = forge.signed().split(".")
    altered = b64(json.dumps(forge.claims(sub="customer-2")).encode())
    with pytest.raises(InvalidToken):
        await forge.verify(f"{header}.{altered}.{signature}")


async def test_a_token_signed_by_another_tenants_key_is_rejected(
    services: Services, clock: SetClock
) -> None:
    """T-05: tenant A's key cannot vouch for tenant B, whatever `tid` says."""
    a = await seed.organisation(services, name="A", faq=None)
    b = await seed.organisation(services, name="B", faq=None)
    key_a = await services.signing_keys.ensure(a.tenant_id)
    private_a = await services.signing_keys.private_key(key_a)
    forged_for_b = Forge(services, clock, b, private_a, key_a.kid)
    with pytest.raises(InvalidToken):
        await forged_for_b.verify(forged_for_b.signed())


@pytest.mark.parametrize(
    ("claim", "from_now"),
    [("exp", timedelta(minutes=-2)), ("nbf", timedelta(minutes=5))],
    ids=["expired beyond leeway", "not yet valid"],
)
async def test_tokens_outside_their_lifetime_are_rejected(
    forge: Forge, claim: str, from_now: timedelta
) -> None:
    """T-06: leeway is 30 s; a token two minutes past `exp` or before `nbf` fails."""
    moment = int((forge.clock.now + from_now).timestamp())
    with pytest.raises(InvalidToken):
        await forge.verify(forge.signed(forge.claims(**{claim: moment})))


async def test_a_token_is_judged_by_the_clock_the_services_read(forge: Forge) -> None:
    """T-06: expiry is the services' time, not the wall clock's: a five-minute token verifies
    while that clock stands within its lifetime and the 30 s leeway, and fails past them."""
    within, beyond = forge.signed(forge.claims(jti="within")), forge.signed(forge.claims())
    forge.clock.advance(minutes=5, seconds=29)
    await forge.verify(within)
    forge.clock.advance(seconds=1)
    with pytest.raises(InvalidToken):
        await forge.verify(beyond)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
async def test_unsigned_tokens_are_rejected_in_every_spelling(forge: Forge, alg: str) -> None:
    """T-09: `alg: none` in any case, with an empty signature."""
    with pytest.raises(InvalidToken):
        await forge.verify(unsigned(forge.header(alg=alg), forge.claims()) + ".")


async def test_a_stripped_signature_is_rejected(forge: Forge) -> None:
    """T-09: the signature segment removed, or emptied."""
    header, claims, _ = forge.signed().split(".")
    for token in (f"{header}.{claims}", f"{header}.{claims}."):
        with pytest.raises(InvalidToken):
            await forge.verify(token)


def _public_key_forms(private: Ed25519PrivateKey) -> list[bytes]:
    public = private.public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    jwk = json.dumps({"kty": "OKP", "crv": "Ed25519", "x": b64(raw)}).encode()
    return [raw, pem, jwk]


async def test_a_token_resigned_with_hs256_using_the_public_key_is_rejected(forge: Forge) -> None:
    """T-10: algorithm confusion with the public key (raw, PEM and JWK forms) as HMAC secret."""
    for secret in _public_key_forms(forge.private):
        signing_input = unsigned(forge.header(alg="HS256"), forge.claims())
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidToken):
            await forge.verify(f"{signing_input}.{b64(mac)}")


class _Listener:
    """A TCP listener on 127.0.0.2 that counts connections: an attacker's key server."""

    def __init__(self) -> None:
        self.connections = 0

    async def start(self) -> str:
        async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            writer.close()

        self.server = await asyncio.start_server(count, "127.0.0.2", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.2:{port}/keys.json"


@pytest.fixture
async def attacker() -> AsyncIterator[tuple[_Listener, str]]:
    listener = _Listener()
    url = await listener.start()
    yield listener, url
    listener.server.close()
    await listener.server.wait_closed()


async def test_keys_named_in_the_header_are_refused_and_never_fetched(
    forge: Forge, attacker: tuple[_Listener, str]
) -> None:
    """T-11: `jwk`, `jku`, `x5u` and `x5c` are refused, and nothing is fetched from the URLs."""
    listener, url = attacker
    thief = Ed25519PrivateKey.generate()
    thief_jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64(thief.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)),
    }
    thief_forge = Forge(forge.services, forge.clock, forge.org, thief, forge.kid)
    for extra in ({"jwk": thief_jwk}, {"jku": url}, {"x5u": url}, {"x5c": ["MIIBfake"]}):
        for signer in (thief_forge, forge):  # the thief's key, and even the real one
            with pytest.raises(InvalidToken):
                await forge.verify(signer.signed(**extra))
    assert listener.connections == 0


@pytest.mark.parametrize(
    "kid", ["../../dev/null", "' OR '1'='1", "x" * 10_000, "unknown-kid", "", 42, None]
)
async def test_hostile_or_unknown_key_ids_are_rejected_generically(forge: Forge, kid: Any) -> None:
    """T-12: path traversal, SQL, huge or unknown `kid`: one generic rejection, nothing else."""
    with pytest.raises(InvalidToken) as rejected:
        await forge.verify(forge.signed(kid=kid))
    assert rejected.value.message == InvalidToken.default_message


@pytest.mark.parametrize(
    ("claims", "header"),
    [
        ({"exp": None}, {}),
        ({"aud": None}, {}),
        ({"aud": "parlour:widget:someone-else"}, {}),
        ({"iss": "https://attacker.example"}, {}),
        ({"sub": None}, {}),
        ({"jti": None}, {}),
        ({"tid": "another-tenant"}, {}),
        ({}, {"typ": "JWT"}),
        ({}, {"typ": None}),
        ({}, {"crit": ["exp"]}),
    ],
    ids=[
        "missing exp",
        "missing aud",
        "wrong aud",
        "wrong iss",
        "missing sub",
        "missing jti",
        "wrong tid",
        "generic typ",
        "no typ",
        "unknown crit",
    ],
)
async def test_tokens_with_missing_or_wrong_claims_are_rejected(
    forge: Forge, claims: dict[str, Any], header: dict[str, Any]
) -> None:
    """T-13: required claims, audience, issuer, explicit type and `crit` are all enforced."""
    with pytest.raises(InvalidToken):
        await forge.verify(forge.signed(forge.claims(**claims), **header))


async def test_oversized_and_deeply_nested_tokens_are_rejected_cheaply(forge: Forge) -> None:
    """T-17: over 8 KiB, refused before parsing; deep nesting is refused too."""
    with pytest.raises(InvalidToken):
        await forge.verify(forge.signed(forge.claims(pad="x" * 9000)))
    deep_header = b64(("[" * 5000 + "]" * 5000).encode())
    with pytest.raises(InvalidToken):
        await forge.verify(f"{deep_header}.e30.sig")
