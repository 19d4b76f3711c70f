"""The restore drill of docs/deployment.md, run: a PostgreSQL backup (`pg_dump -Fc`) restored
into a new database (`pg_restore --no-owner --role`) opens its sealed messages and knowledge
with the same master key, and with another master key opens nothing. The database holds only
wrapped keys: a backup without the master key is ciphertext, and the master key without the
backup is nothing either, so the two are kept apart and both are needed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from parlour.crypto.aead import DecryptionFailed
from parlour.services import build_services
from tests.conftest import make_settings, new_master_key
from tests.support import seed
from tests.support.databases import APP_ROLE, new_postgres_database, postgres_admin_url

pytestmark = pytest.mark.postgres

TIMEOUT_SECONDS = 120


def libpq_url(url: str) -> str:
    """The database of `url` as pg_dump and pg_restore take it, reached as the server's
    administrator (a backup reads every tenant's rows: a superuser or a BYPASSRLS role)."""
    database = make_url(url).database
    return (
        make_url(postgres_admin_url())
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr).decode()


async def test_a_backup_restored_into_a_new_database_opens_with_the_master_key_only(
    tmp_path: Path,
) -> None:
    master_key = new_master_key()
    dump = tmp_path / "parlour.dump"
    async with new_postgres_database() as original:
        services = build_services(
            make_settings(tmp_path, database_url=original, master_key=master_key)
        )
        try:
            await services.migrate()
            org = await seed.organisation(services)
            conversation = await services.chat.open_conversation(org.tenant_id, "customer-1")
            await services.chat.post_user_message(
                org.tenant_id,
                conversation.conversation_id,
                client_id="c-1",
                text="My card 4000 0000 0000 0002 was swallowed",
            )
        finally:
            await services.aclose()
        run("pg_dump", "--format=custom", f"--file={dump}", libpq_url(original))

    async with new_postgres_database() as restored:
        run(
            "pg_restore",
            "--no-owner",
            f"--role={APP_ROLE}",
            "--exit-on-error",
            f"--dbname={libpq_url(restored)}",
            str(dump),
        )
        services = build_services(
            make_settings(tmp_path, database_url=restored, master_key=master_key)
        )
        try:
            messages = await services.chat.history(
                org.tenant_id, conversation.conversation_id, after_seq=0, limit=10
            )
            hits = await services.knowledge.search(org.tenant_id, "When are you open?")
        finally:
            await services.aclose()

        stranger = build_services(
            make_settings(tmp_path, database_url=restored, master_key=new_master_key())
        )
        try:
            with pytest.raises(DecryptionFailed, match="wrapped by master key mk_"):
                await stranger.chat.history(
                    org.tenant_id, conversation.conversation_id, after_seq=0, limit=10
                )
        finally:
            await stranger.aclose()

    assert [m.body for m in messages] == ["My card 4000 0000 0000 0002 was swallowed"]
    assert hits[0].entry.answer == "We are open Monday to Friday, 9:00 to 17:00."
