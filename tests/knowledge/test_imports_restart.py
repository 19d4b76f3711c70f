"""A node's restart: a job its SQLite node was running when it stopped is taken again when the
node starts, and runs to its end; nothing of the first attempt was kept (issue 23, item 4)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from parlour.knowledge.import_models import ImportState
from parlour.services import build_services
from tests.conftest import make_settings, new_master_key
from tests.support import seed


async def test_a_job_a_stopped_node_was_running_is_resumed_when_it_starts_again(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = make_settings(tmp_path, database_url=sqlite_url, master_key=new_master_key())
    stopped = build_services(settings)
    try:
        await stopped.migrate()
        org = await seed.organisation(stopped, faq=None)
        job, _ = await stopped.knowledge_imports.submit(
            org.tenant_id, "faq.csv", seed.SAMPLE_FAQ, actor=seed.ACTOR
        )
        claimed = await stopped.knowledge_imports.claim()  # … and the process is killed
        assert claimed is not None
        assert claimed.state is ImportState.RUNNING
    finally:
        await stopped.aclose()

    started = build_services(settings)
    try:
        await started.start()
        ended = await asyncio.wait_for(
            started.knowledge_imports.ended(org.tenant_id, job.job_id), timeout=30
        )
        assert (ended.state, ended.attempts, ended.imported) == (ImportState.DONE, 2, 3)
        assert [v.number for v in await started.knowledge.versions(org.tenant_id)] == [1]
    finally:
        await started.aclose()
