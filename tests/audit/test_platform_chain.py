"""What concerns the whole deployment goes on the platform's own audit chain (T-91), on SQLite
and on PostgreSQL. Each test has a database of its own: the chain is one per deployment, and
other tests, each with a master key of its own, would have signed its checkpoints too."""

from __future__ import annotations

from pathlib import Path

from parlour.audit.events import PLATFORM_CHAIN, Actor, ActorType
from tests.conftest import migrated_services
from tests.support import seed


async def test_deleting_a_tenant_is_recorded_on_the_platform_chain(
    lone_database_url: str, tmp_path: Path
) -> None:
    async with migrated_services(tmp_path, lone_database_url) as backend:
        org = await seed.organisation(backend)
        operator = Actor(ActorType.OPERATOR, "op-1", source_ip="203.0.113.9", request_id="r-1")
        await backend.tenants.delete(org.tenant_id, actor=operator)
        platform = [e async for e in backend.audit.export(PLATFORM_CHAIN)]
        deleted = [e for e in platform if e["action"] == "tenant.deleted"][-1]
        assert deleted["data"] == {"tenant_id": org.tenant_id, "data_keys_destroyed": 1}
        assert deleted["actor"] == {"type": "operator", "id": "op-1"}
        assert deleted["source_ip"] == "203.0.113.9"
        assert deleted["request_id"] == "r-1"
        # Its own chain went with it.
        assert (await backend.audit.verify(org.tenant_id)).events == 0
        assert (await backend.audit.verify(PLATFORM_CHAIN)).ok
