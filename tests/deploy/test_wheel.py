"""Parlour's wheel: built from this checkout, installed into a fresh virtual environment with
nothing but the lock's wheels (offline, hash-checked), it is a working `parlour` that carries
its widget releases, migrations and templates, and serves a conversation from outside the
checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_master_key
from tests.support import canaries
from tests.support.chat import authenticate, is_assistant_message, open_socket, receive_until, say
from tests.support.containers import BUILD_TIMEOUT_SECONDS, COMMAND_TIMEOUT_SECONDS, ROOT
from tests.support.containers import build_context as make_context
from tests.support.servers import START_TIMEOUT_SECONDS, ChildProcess, free_socket

# The first run on a machine gathers the lock's wheels (~2 min); later runs reuse them.
pytestmark = pytest.mark.timeout(900)

ORIGIN = "https://shop.example.com"
FAQ = """question,answer
How do I block my card?,"Go to Cards, choose the card and tap Freeze card."
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding Parlour's wheel and the lock's runtime wheels only."""
    context = make_context()
    venv = tmp_path_factory.mktemp("wheel") / "venv"
    uv = str(Path(sys.executable).parent / "uv")
    run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    for requirements, wheels in (("requirements.txt", "wheels"), ("parlour.txt", "parlour")):
        run(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                str(venv / "bin" / "python"),
                "--offline",
                "--no-index",
                "--find-links",
                str(context / wheels),
                "--require-hashes",
                "--no-deps",
                "-r",
                str(context / requirements),
            ],
            timeout=BUILD_TIMEOUT_SECONDS,
        )
    return venv


def run(
    argv: list[str], *, env: dict[str, str] | None = None, timeout: float = COMMAND_TIMEOUT_SECONDS
) -> str:
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv[:3]} exited {done.returncode}:\n{done.stderr[-3000:]}"
    return done.stdout


def outside_the_checkout(data_dir: Path) -> dict[str, str]:
    """An environment that cannot reach this checkout's sources: no PYTHONPATH, run elsewhere."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PARLOUR_") and k != "PYTHONPATH"
    }
    env.update(
        {
            "PARLOUR_ENVIRONMENT": "test",
            "PARLOUR_DATA_DIR": str(data_dir),
            "PARLOUR_CRYPTO__MASTER_KEY": new_master_key(),
        }
    )
    return env


def test_the_wheel_carries_widget_releases_migrations_and_templates(installed: Path) -> None:
    package = next((installed / "lib").glob("python3*/site-packages/parlour"))
    releases = sorted(p.name for p in (package / "web" / "widget_releases").glob("*.js"))
    assert releases == sorted(p.name for p in (ROOT / "widget" / "releases").glob("*.js"))
    assert (package / "web" / "widget_assets" / "parlour-widget.js").is_file()
    migrations = sorted(
        p.name for p in (package / "storage" / "migrations" / "versions").glob("*.py")
    )
    shipped = sorted(
        p.name
        for p in (ROOT / "src" / "parlour" / "storage" / "migrations" / "versions").glob("*.py")
    )
    assert migrations == shipped
    assert (package / "storage" / "migrations" / "script.py.mako").is_file()
    templates = sorted(p.name for p in (package / "web" / "dashboard" / "templates").glob("*.html"))
    assert templates == sorted(
        p.name
        for p in (ROOT / "src" / "parlour" / "web" / "dashboard" / "templates").glob("*.html")
    )
    assert templates


@pytest.fixture
def served(installed: Path, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """`parlour serve` from the installed wheel, on SQLite in a fresh data folder, started in
    that folder; the organisation made with the installed CLI."""
    env = outside_the_checkout(tmp_path / "data")
    parlour = str(installed / "bin" / "parlour")
    created = run([parlour, "tenant", "create", "Wheel", "--origin", ORIGIN], env=env)
    fields = dict(line.split(":", 1) for line in created.splitlines() if ":" in line)
    tenant_id, widget_id = fields["tenant_id"].strip(), fields["widget_id"].strip()
    issued = run([parlour, "keys", "create", "--tenant", tenant_id], env=env)
    secret = canaries.register(
        next(line.split()[1] for line in issued.splitlines() if line.startswith("secret:"))
    )
    (tmp_path / "faq.csv").write_text(FAQ)
    run([parlour, "faq", "import", "--tenant", tenant_id, str(tmp_path / "faq.csv")], env=env)
    sock = free_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    server = ChildProcess(
        ["/usr/bin/env", "--chdir", str(tmp_path), parlour, "serve", "--port", str(port)],
        env,
        "installed parlour serve",
    )
    try:
        server.wait_for("Uvicorn running on", START_TIMEOUT_SECONDS)
        yield f"127.0.0.1:{port}", {"widget_id": widget_id, "api_key": secret}
    finally:
        server.process.terminate()
        server.process.wait(timeout=COMMAND_TIMEOUT_SECONDS)
        canaries.record_output("".join(server.output))
        assert str(ROOT / "src") not in "".join(server.output)


async def test_the_installed_wheel_serves_a_conversation_with_a_cited_answer(
    served: tuple[str, dict[str, str]],
) -> None:
    address, org = served
    async with httpx.AsyncClient(timeout=10) as client:
        minted = await client.post(
            f"http://{address}/v1/end-user-tokens",
            json={"user_id": "customer-1", "origin": ORIGIN},
            headers={"Authorization": f"Bearer {org['api_key']}"},
        )
        assert minted.status_code == 201, minted.text
        widget = await client.get(f"http://{address}/widget/v1/parlour-widget.js")
        assert widget.status_code == 200
    async with open_socket(f"ws://{address}", org["widget_id"], ORIGIN) as ws:
        await authenticate(ws, minted.json()["token"])
        await say(ws, "How do I block my card?")
        frames = await receive_until(ws, is_assistant_message, timeout=20)
    assert "Freeze card" in frames[-1]["text"]
    assert frames[-1]["citations"]
