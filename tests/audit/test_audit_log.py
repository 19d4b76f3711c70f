"""The audit log is tamper-evident: `verify` passes on an untouched chain and names the first
bad event after an edit, a deletion or a reorder, on SQLite and on PostgreSQL (T-91)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select, update

from parlour.audit.events import OriginAllowed
from parlour.audit.service import AuditLog
from parlour.services import Services
from parlour.storage.tables import audit_checkpoints, audit_events, audit_heads
from tests.support import seed

pytestmark = pytest.mark.usefixtures("backend")


async def organisation_with_history(services: Services, events: int = 6) -> str:
    """An organisation whose chain has creation, key, upload and publication events, then more
    origins."""
    org = await seed.organisation(services)
    for i in range(events - 5):
        await services.tenants.allow_origin(
            org.tenant_id, f"https://shop{i}.example.com", actor=seed.ACTOR
        )
    return org.tenant_id


async def test_an_untouched_chain_verifies(backend: Services) -> None:
    chain = await organisation_with_history(backend)
    result = await backend.audit.verify(chain)
    assert result.ok, result.problem
    assert result.events == 6


async def test_every_event_names_actor_tenant_time_and_no_secret(backend: Services) -> None:
    """T-88, T-89: actor, chain, UTC time on every event; the API key secret never appears."""
    org = await seed.organisation(backend)
    exported = [e async for e in backend.audit.export(org.tenant_id)]
    assert [e["action"] for e in exported] == [
        "tenant.created",
        "tenant.origin_allowed",
        "api_key.created",
        "knowledge.uploaded",
        "knowledge.published",
    ]
    for event in exported:
        assert event["actor"] == {"type": "system", "id": "tests"}
        assert str(event["occurred_at"]).endswith("Z")
        assert event["chain"] == org.tenant_id
    assert org.api_key not in json.dumps(exported)
    assert org.api_key.rsplit("_", 1)[1] not in json.dumps(exported)


async def tamper(services: Services, statement: object) -> None:
    async with services.db.transaction() as conn:
        await conn.execute(statement)  # type: ignore[arg-type]


async def test_an_edited_event_is_named(backend: Services) -> None:
    chain = await organisation_with_history(backend)
    await tamper(
        backend,
        update(audit_events)
        .where(audit_events.c.tenant_id == chain, audit_events.c.seq == 3)
        .values(actor_id="someone-else"),
    )
    result = await backend.audit.verify(chain)
    assert result.problem is not None
    assert result.problem.seq == 3
    assert "edited" in result.problem.reason


async def test_a_deleted_event_is_named(backend: Services) -> None:
    chain = await organisation_with_history(backend)
    await tamper(
        backend,
        delete(audit_events).where(audit_events.c.tenant_id == chain, audit_events.c.seq == 4),
    )
    result = await backend.audit.verify(chain)
    assert result.problem is not None
    assert result.problem.seq == 4
    assert "missing" in result.problem.reason


async def test_reordered_events_are_named(backend: Services) -> None:
    chain = await organisation_with_history(backend)
    # Swap events 2 and 3 by renumbering them through a free number.
    where = audit_events.c.tenant_id == chain
    await tamper(backend, update(audit_events).where(where, audit_events.c.seq == 2).values(seq=-1))
    await tamper(backend, update(audit_events).where(where, audit_events.c.seq == 3).values(seq=2))
    await tamper(backend, update(audit_events).where(where, audit_events.c.seq == -1).values(seq=3))
    result = await backend.audit.verify(chain)
    assert result.problem is not None
    assert result.problem.seq == 2
    assert "reordered" in result.problem.reason


async def test_a_rewritten_chain_is_caught_by_its_signed_checkpoint(backend: Services) -> None:
    """Someone who edits an event and recomputes every hash after it still fails against the
    signed checkpoint."""
    chain = await organisation_with_history(backend)
    assert await backend.audit.checkpoint(chain) is not None
    async with backend.db.read() as conn:
        rows = [
            r
            async for r in await conn.stream(
                select(audit_events)
                .where(audit_events.c.tenant_id == chain)
                .order_by(audit_events.c.seq)
            )
        ]
    from parlour.audit.chain import GENESIS, record_hash

    prev = GENESIS
    async with backend.db.transaction() as conn:
        for row in rows:
            m = dict(row._mapping)
            if m["seq"] == 2:
                m["data"] = json.dumps({"origin": "https://attacker.example"})
            m["prev_hash"] = prev
            fields = {
                k: m[k]
                for k in (
                    "seq",
                    "event_id",
                    "occurred_at",
                    "action",
                    "actor_type",
                    "actor_id",
                    "source_ip",
                    "request_id",
                    "data",
                    "prev_hash",
                )
            }
            m["hash"] = record_hash(chain=chain, **fields)
            prev = m["hash"]
            await conn.execute(
                update(audit_events)
                .where(audit_events.c.tenant_id == chain, audit_events.c.seq == m["seq"])
                .values(data=m["data"], prev_hash=m["prev_hash"], hash=m["hash"])
            )
        await conn.execute(
            update(audit_heads).where(audit_heads.c.tenant_id == chain).values(hash=prev)
        )
    result = await backend.audit.verify(chain)
    assert result.problem is not None
    assert result.problem.seq == 6
    assert "checkpoint" in result.problem.reason


async def test_a_cut_off_tail_is_caught(backend: Services) -> None:
    chain = await organisation_with_history(backend)
    await backend.audit.checkpoint(chain)
    await tamper(
        backend,
        delete(audit_events).where(audit_events.c.tenant_id == chain, audit_events.c.seq >= 5),
    )
    await tamper(backend, update(audit_heads).where(audit_heads.c.tenant_id == chain).values(seq=4))
    result = await backend.audit.verify(chain)
    assert result.problem is not None
    assert result.problem.seq == 5


async def test_a_forged_checkpoint_is_caught(backend: Services) -> None:
    chain = await organisation_with_history(backend)
    await backend.audit.checkpoint(chain)
    await tamper(
        backend,
        update(audit_checkpoints)
        .where(audit_checkpoints.c.tenant_id == chain)
        .values(signature=b"\x00" * 64),
    )
    result = await backend.audit.verify(chain)
    assert result.problem is not None
    assert "signature" in result.problem.reason


async def test_checkpoints_are_signed_automatically_every_n_events(backend: Services) -> None:
    log = AuditLog(backend.db, backend.audit._signer, checkpoint_every=2)
    for i in range(5):
        async with backend.db.transaction() as conn:
            await log.record(conn, "chain-x", OriginAllowed(f"https://{i}.example"), seed.ACTOR)
    result = await log.verify("chain-x")
    assert result.ok
    assert result.checkpoints == 2


async def test_an_event_exists_only_if_its_transaction_commits(backend: Services) -> None:
    """Audit rows are written in the same transaction as the change they describe."""

    async def change_that_fails() -> None:
        async with backend.db.transaction() as conn:
            await backend.audit.record(
                conn, "rolled-back", OriginAllowed("https://x.example"), seed.ACTOR
            )
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    assert (await backend.audit.verify("rolled-back")).events == 0
