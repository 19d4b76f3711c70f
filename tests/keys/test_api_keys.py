"""API keys: recognisable, random, shown once, stored only as a digest."""

from __future__ import annotations

import hashlib
import inspect
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from parlour.errors import NotFound, Unauthenticated
from parlour.keys import api_keys
from parlour.keys.models import Scope
from parlour.services import Services
from parlour.storage.tables import metadata
from tests.support import canaries, seed

SRC = Path(__file__).resolve().parents[2] / "src" / "parlour"


def test_a_new_key_has_a_recognisable_prefix_a_public_id_and_256_random_bits() -> None:
    """T-46: `parlour_sk_<16 hex id>_<43 base64url chars = 256 bits>`."""
    key_id, secret = api_keys.new_key()
    assert re.fullmatch(r"parlour_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", secret)
    assert api_keys.parse_key_id(secret) == key_id
    assert len({api_keys.new_key()[1] for _ in range(1000)}) == 1000


def test_lookalike_strings_are_not_keys() -> None:
    for text_ in ["", "parlour_sk_", "parlour_pk_0123456789abcdef_" + "a" * 43, "x" * 100]:
        assert api_keys.parse_key_id(text_) is None


async def dump(services: Services) -> str:
    """Every cell of every table, as text: what a stolen database would show."""
    cells: list[str] = []
    async with services.db.read() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(text(f"SELECT * FROM {table.name}")):  # noqa: S608
                cells.extend(repr(value) for value in row)
    return "\n".join(cells)


async def test_the_database_holds_only_a_digest_of_the_secret(services: Services) -> None:
    """T-46: a dump contains the SHA-256 digest, never the secret or any part of it after the id."""
    org = await seed.organisation(services)
    everything = await dump(services)
    secret_part = org.api_key.split("_", 3)[3]  # parlour_sk_<key id>_<secret, may hold _>
    assert org.api_key not in everything
    assert secret_part not in everything
    assert hashlib.sha256(org.api_key.encode()).hexdigest() in everything


async def test_signing_keys_are_stored_sealed_not_in_the_clear(services: Services) -> None:
    """T-48: the private half of a tenant's signing key is encrypted at rest."""
    org = await seed.organisation(services, faq=None)
    key = await services.signing_keys.ensure(org.tenant_id)
    private = (await services.signing_keys.private_key(key)).private_bytes_raw()
    assert private not in key.private_key_sealed
    assert repr(private) not in await dump(services)


def test_secrets_and_digests_are_compared_in_constant_time() -> None:
    """T-07: the comparison goes through hmac.compare_digest, and no module compares a digest,
    MAC or signature with `==`."""
    assert "hmac.compare_digest" in inspect.getsource(api_keys.matches)
    pattern = re.compile(
        r"(digest|signature|mac|secret)\w*\s*[!=]=|[!=]=\s*\w*(digest|signature|mac)\b"
    )
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


async def test_a_rotated_key_works_beside_its_successor_until_the_overlap_ends(
    backend: Services,
) -> None:
    """T-47: key1 and key2 both valid during the overlap; revoked, key1 is refused at once;
    create, rotate and revoke are each audited."""
    org = await seed.organisation(backend)
    old_id = api_keys.parse_key_id(org.api_key)
    assert old_id is not None
    rotated = await backend.api_keys.rotate(
        org.tenant_id, old_id, overlap=timedelta(hours=24), actor=seed.ACTOR
    )
    canaries.register(rotated.secret)
    for secret in (org.api_key, rotated.secret):
        key = await backend.api_keys.authenticate(secret, scope=Scope.MINT_END_USER_TOKENS)
        assert key.tenant_id == org.tenant_id
    assert rotated.key.label == "test"
    assert rotated.key.scopes == {Scope.MINT_END_USER_TOKENS, Scope.REVOKE_END_USERS}

    await backend.api_keys.revoke(org.tenant_id, old_id, actor=seed.ACTOR)
    with pytest.raises(Unauthenticated):
        await backend.api_keys.authenticate(org.api_key, scope=Scope.MINT_END_USER_TOKENS)
    await backend.api_keys.authenticate(rotated.secret, scope=Scope.MINT_END_USER_TOKENS)
    events = await backend.audit.recent(org.tenant_id, action_prefix="api_key")
    assert [e["action"] for e in reversed(events)] == [
        "api_key.created",
        "api_key.created",
        "api_key.rotated",
        "api_key.revoked",
    ]


async def test_a_rotation_without_overlap_stops_the_old_key_at_once(services: Services) -> None:
    """T-47, for a key that leaked."""
    org = await seed.organisation(services)
    old_id = api_keys.parse_key_id(org.api_key)
    assert old_id is not None
    rotated = await services.api_keys.rotate(
        org.tenant_id, old_id, overlap=timedelta(0), actor=seed.ACTOR
    )
    canaries.register(rotated.secret)
    with pytest.raises(Unauthenticated):
        await services.api_keys.authenticate(org.api_key, scope=Scope.MINT_END_USER_TOKENS)
    with pytest.raises(NotFound):  # a stopped key is not rotated again
        await services.api_keys.rotate(
            org.tenant_id, old_id, overlap=timedelta(0), actor=seed.ACTOR
        )
    other = await seed.organisation(services, name="Other")
    with pytest.raises(NotFound):  # nor another organisation's
        await services.api_keys.rotate(
            other.tenant_id, rotated.key.key_id, overlap=timedelta(0), actor=seed.ACTOR
        )
