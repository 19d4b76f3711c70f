"""Durability across a process restart, with `parlour serve` as a real child process."""

from __future__ import annotations

from pathlib import Path

from parlour.services import build_services
from tests.conftest import make_settings, new_master_key
from tests.support import seed
from tests.support.chat import authenticate, open_socket, receive, say
from tests.support.servers import ServeProcess, free_socket


async def test_a_message_acknowledged_before_a_restart_is_in_the_history_after_it(
    database_url: str, tmp_path: Path
) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    master_key = new_master_key()
    url = f"http://127.0.0.1:{port}"
    env = {
        "PARLOUR_ENVIRONMENT": "test",
        "PARLOUR_DATA_DIR": str(tmp_path),
        "PARLOUR_DATABASE__URL": database_url,
        "PARLOUR_SERVER__PUBLIC_URL": url,
        "PARLOUR_CRYPTO__MASTER_KEY": master_key,
    }
    services = build_services(
        make_settings(tmp_path, database_url=database_url, public_url=url, master_key=master_key)
    )
    try:
        await services.migrate()
        org = await seed.organisation(services, faq=None)

        first = ServeProcess(env, port)
        try:
            first.wait_ready()
            async with open_socket(first.ws_url, org.widget_id, org.origin) as ws:
                await authenticate(ws, await seed.token_for(services, org))
                client_id = await say(ws, "Please remember: my parcel is 4471")
                accepted = await receive(ws)
                assert (accepted["type"], accepted["client_id"], accepted["seq"]) == (
                    "accepted",
                    client_id,
                    1,
                )
        finally:
            first.stop()

        second = ServeProcess(env, port)
        try:
            second.wait_ready()
            async with open_socket(second.ws_url, org.widget_id, org.origin) as ws:
                await authenticate(ws, await seed.token_for(services, org))
                replayed = await receive(ws)
        finally:
            second.stop()
    finally:
        await services.aclose()

    assert replayed["seq"] == 1
    assert replayed["client_id"] == client_id
    assert replayed["text"] == "Please remember: my parcel is 4471"
