"""The container image and deploy/compose.yaml, run for real under podman: two Parlour processes
behind the TLS-terminating proxy, on PostgreSQL and Redis, in production mode, with the secrets
as files. The image is built here from the lock's wheels with no network inside the build, on a
debootstrap base (tests/support/containers.py); the first run on a machine makes the bases and
wheels (minutes), later runs reuse them.

Past 400 lines as one specification: one compose stack, built once, and what is checked on it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import secrets
import ssl
import subprocess
import sys
import tarfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.conftest import new_master_key
from tests.support import canaries
from tests.support.chat import authenticate, is_assistant_message, receive, receive_until, say
from tests.support.containers import (
    COMMAND_TIMEOUT_SECONDS,
    ROOT,
    SERVICES_BASE,
    Podman,
    build_context,
)
from tests.support.servers import free_socket
from tests.support.tls import certificate_authority, server_certificate

# The first run on a machine debootstraps two bases and builds the image (~6 min here).
pytestmark = pytest.mark.timeout(1500)

COMPOSE = ROOT / "deploy" / "compose.yaml"
IMAGE = "localhost/parlour:smoke"
ORIGIN = "https://shop.example.com"
PARLOUR_UID = 10001
START_TIMEOUT_SECONDS = 180.0
ANSWER_TIMEOUT_SECONDS = 20.0
FAQ = """question,answer
How do I block my card?,"Go to Cards, choose the card and tap Freeze card."
What are your opening hours?,"We are open Monday to Friday, 9:00 to 17:00."
"""


@dataclass
class Stack:
    podman: Podman
    project: str
    https: str
    tls: ssl.SSLContext
    secrets: dict[str, str]
    tenant_id: str = ""
    widget_id: str = ""
    api_key: str = ""

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def parlour(self, service: str, *argv: str, input_text: str | None = None) -> str:
        """Run the `parlour` CLI inside a Parlour container, as an operator would."""
        done = self.podman.run("exec", "-i", self.container(service), *argv, input_text=input_text)
        return done.stdout

    @property
    def wss(self) -> str:
        return "wss" + self.https.removeprefix("https")


def free_port() -> int:
    sock = free_socket()
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


def write_secrets(folder: Path) -> tuple[dict[str, str], ssl.SSLContext]:
    """The files compose mounts as secrets, made as an operator would: the master key and the
    database password readable by Parlour's user alone (production refuses a key file others
    can read)."""
    folder.mkdir()
    authority = certificate_authority("Parlour smoke test CA")
    leaf = server_certificate(authority, "localhost")
    certificate, key = leaf.write(folder, "leaf")
    certificate.rename(folder / "tls_certificate")
    key.rename(folder / "tls_key")
    values = {
        "master_key": new_master_key(),
        "postgres_password": canaries.register(secrets.token_urlsafe(24)),
        "tls_key": (folder / "tls_key").read_text(),
    }
    for name in ("master_key", "postgres_password"):
        path = folder / name
        path.write_text(values[name])
        os.chown(path, PARLOUR_UID, PARLOUR_UID)
        path.chmod(0o400)
    tls = ssl.create_default_context(cadata=authority.certificate_pem)
    return values, tls


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Podman:
    return Podman.prepare(tmp_path_factory.mktemp("podman"))


@pytest.fixture(scope="module")
def image(podman: Podman) -> str:
    podman.bases()
    podman.build(build_context(), IMAGE)
    return IMAGE


@pytest.fixture(scope="module")
def stack(podman: Podman, image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("compose")
    values, tls = write_secrets(folder / "secrets")
    https_port, port_a, port_b = free_port(), free_port(), free_port()
    stack = Stack(
        podman=podman,
        project=f"parlour-smoke-{uuid.uuid4().hex[:8]}",
        https=f"https://localhost:{https_port}",
        tls=tls,
        secrets=values,
    )
    env = {
        "PARLOUR_IMAGE": image,
        "PARLOUR_POSTGRES_IMAGE": SERVICES_BASE,
        "PARLOUR_REDIS_IMAGE": SERVICES_BASE,
        "PARLOUR_PROXY_IMAGE": SERVICES_BASE,
        "PARLOUR_PUBLIC_URL": stack.https,
        "PARLOUR_SMTP_HOST": "smtp.invalid",  # production wants a relay; nothing is mailed here
        "PARLOUR_SECRETS_DIR": str(folder / "secrets"),
        "PARLOUR_HTTPS_ADDRESS": "127.0.0.1",
        "PARLOUR_HTTPS_PORT": str(https_port),
        "PARLOUR_A_PORT": str(port_a),
        "PARLOUR_B_PORT": str(port_b),
    }
    compose = [
        str(Path(sys.executable).parent / "podman-compose"),
        "--project-name", stack.project, "--file", str(COMPOSE),
    ]  # fmt: skip
    try:
        podman.command([*compose, "up", "--detach"], env=env)
        for service in ("parlour-a", "parlour-b"):
            podman.wait_for_log(
                stack.container(service), "Application startup complete", START_TIMEOUT_SECONDS
            )
        # `up` exits 0 even when a service failed: each is checked.
        for service in ("postgres", "redis", "parlour-a", "parlour-b", "proxy"):
            assert podman.state(stack.container(service)) == "running", service
        seed(stack)
        yield stack
    finally:
        for service in ("postgres", "redis", "parlour-a", "parlour-b", "proxy"):
            logs = podman.run("logs", "--tail", "30", stack.container(service), check=False)
            canaries.record_output(logs.stdout + logs.stderr)
            print(f"--- {service}\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}")
        podman.command([*compose, "down", "--volumes", "--timeout", "5"], env=env, check=False)


def seed(stack: Stack) -> None:
    """An organisation, its API key and its FAQ, made with the CLI inside a Parlour container."""
    created = stack.parlour("parlour-a", "parlour", "tenant", "create", "Smoke", "--origin", ORIGIN)
    fields = dict(line.split(":", 1) for line in created.splitlines() if ":" in line)
    stack.tenant_id, stack.widget_id = fields["tenant_id"].strip(), fields["widget_id"].strip()
    issued = stack.parlour("parlour-b", "parlour", "keys", "create", "--tenant", stack.tenant_id)
    stack.api_key = canaries.register(
        next(line.split()[1] for line in issued.splitlines() if line.startswith("secret:"))
    )
    stack.parlour(
        "parlour-a", "sh", "-c",
        f"cat > /tmp/faq.csv && parlour faq import --tenant {stack.tenant_id} /tmp/faq.csv",
        input_text=FAQ,
    )  # fmt: skip


async def token_for(stack: Stack, user_id: str) -> str:
    async with httpx.AsyncClient(verify=stack.tls, timeout=10) as client:
        answer = await client.post(
            f"{stack.https}/v1/end-user-tokens",
            json={"user_id": user_id, "origin": ORIGIN},
            headers={"Authorization": f"Bearer {stack.api_key}"},
        )
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


@contextlib.asynccontextmanager
async def widget_socket(stack: Stack) -> AsyncIterator[ClientConnection]:
    async with connect(
        f"{stack.wss}/v1/chat/{stack.widget_id}",
        origin=ORIGIN,  # type: ignore[arg-type]
        ssl=stack.tls,
        open_timeout=10,
        compression=None,
    ) as ws:
        yield ws


async def ask(ws: ClientConnection, question: str) -> list[dict[str, Any]]:
    await say(ws, question)
    return await receive_until(ws, is_assistant_message, timeout=ANSWER_TIMEOUT_SECONDS)


def test_every_parlour_process_runs_as_a_non_root_user_on_a_read_only_root_filesystem(
    stack: Stack,
) -> None:
    """T-108: seen from the host, both processes run as uid 10001, cannot write their root
    filesystem, and write their data volume."""
    for service in ("parlour-a", "parlour-b"):
        container = stack.container(service)
        pid = stack.podman.run("inspect", "--format", "{{.State.Pid}}", container).stdout.strip()
        status = Path(f"/proc/{pid}/status").read_text()
        uids = next(line.split()[1:] for line in status.splitlines() if line.startswith("Uid:"))
        assert uids == [str(PARLOUR_UID)] * 4, (service, uids)  # real, effective, saved, fs
        assert "parlour serve" in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        refused = stack.podman.run("exec", container, "sh", "-c", "touch /opt/x", check=False)
        assert refused.returncode != 0
        assert "Read-only file system" in refused.stderr
        stack.podman.run("exec", container, "sh", "-c", "touch /var/lib/parlour/writable")


def test_the_image_health_check_passes_on_readiness(stack: Stack) -> None:
    """T-108: the image's HEALTHCHECK asks /readyz (podman runs it here on demand: its timers
    need systemd, which these machines do not run)."""
    checked = stack.podman.run("healthcheck", "run", stack.container("parlour-b"), check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    configured = stack.podman.run(
        "image", "inspect", "--format", "{{json .HealthCheck}}", IMAGE
    ).stdout
    assert "/readyz" in configured


def test_t108_no_secret_is_in_the_image_or_its_configuration(stack: Stack) -> None:
    """T-108: the master key, the database password, the TLS key and the organisation's API key
    are in none of the image's layers (`podman save`, every file of every layer read), nor in
    the image's or a container's configuration: they reach the processes as files at run time."""
    needles = {name: value.encode() for name, value in stack.secrets.items()}
    needles["api_key"] = stack.api_key.encode()
    needles["master_key_raw"] = base64.b64decode(stack.secrets["master_key"])
    found, files = layer_search(stack.podman, IMAGE, needles)
    assert files > 10_000  # every layer was read, the environment's thousands of files included
    assert found == {}
    for described in (
        stack.podman.run("image", "inspect", IMAGE).stdout,
        stack.podman.run("inspect", stack.container("parlour-a")).stdout,
    ):
        for name, text in [*stack.secrets.items(), ("api_key", stack.api_key)]:
            assert text not in described, name
    environment = json.loads(stack.podman.run("inspect", stack.container("parlour-a")).stdout)[0]
    names = [item.split("=", 1)[0] for item in environment["Config"]["Env"]]
    assert "PARLOUR_CRYPTO__MASTER_KEY" not in names
    assert "PARLOUR_CRYPTO__MASTER_KEY_FILE" in names


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(None, id="none"),
        pytest.param("change-me-change-me-change-me-change-me-0000=", id="placeholder"),
        pytest.param(base64.b64encode(bytes(32)).decode(), id="all-zero"),
    ],
)
def test_t108_the_image_refuses_to_start_in_production_without_a_real_master_key(
    podman: Podman, image: str, key: str | None
) -> None:
    """T-108: in production the image does not start on a missing, placeholder or default
    master key; it says why, and shows no key."""
    environment = [
        "--env", "PARLOUR_ENVIRONMENT=production",
        "--env", "PARLOUR_SERVER__PUBLIC_URL=https://chat.example.com",
        "--env", "PARLOUR_IDENTITY__SMTP_HOST=smtp.invalid",
    ]  # fmt: skip
    if key is not None:
        environment += ["--env", f"PARLOUR_CRYPTO__MASTER_KEY={key}"]
    refused = podman.run(
        "run", "--rm", "--read-only", "--network", "none", *environment, image, "serve",
        check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "master_key" in refused.stderr
    if key is not None:
        assert key not in refused.stdout + refused.stderr


def layer_search(
    podman: Podman, image: str, needles: dict[str, bytes]
) -> tuple[dict[str, str], int]:
    """Which needle is in which file of which layer of the saved image; how many files were
    read. The archive streams from `podman save`, never written to disk."""
    saver = subprocess.Popen(
        ["podman", "--runtime", "runc", "save", "--format", "docker-archive", image],
        env=podman.env,
        stdout=subprocess.PIPE,
    )
    assert saver.stdout is not None
    found: dict[str, str] = {}
    files = 0
    longest = max(len(n) for n in needles.values())
    try:
        with tarfile.open(fileobj=saver.stdout, mode="r|") as archive:
            for member in archive:
                outer = archive.extractfile(member) if member.isfile() else None
                if outer is None:
                    continue
                if not member.name.endswith(".tar"):
                    files += 1
                    scan(outer, member.name, needles, longest, found)
                    continue
                with tarfile.open(fileobj=outer, mode="r|") as layer:
                    for entry in layer:
                        inner = layer.extractfile(entry) if entry.isfile() else None
                        if inner is not None:
                            files += 1
                            scan(inner, f"{member.name}:{entry.name}", needles, longest, found)
    finally:
        saver.stdout.close()
        saver.wait(timeout=COMMAND_TIMEOUT_SECONDS)
    assert saver.returncode == 0
    return found, files


def scan(
    stream: IO[bytes], where: str, needles: dict[str, bytes], longest: int, found: dict[str, str]
) -> None:
    tail = b""
    for block in iter(lambda: stream.read(1 << 20), b""):
        window = tail + block
        for name, needle in needles.items():
            if needle in window:
                found[name] = where
        tail = window[-longest:]


async def test_a_widget_through_the_proxy_gets_a_cited_answer_and_resumes_on_the_other_process_when_one_is_killed(  # noqa: E501
    stack: Stack,
) -> None:
    """Two customers' sockets land on the two processes (round robin); the process behind one
    is killed (SIGKILL). That customer reconnects through the proxy, reaches the other process,
    resumes from the last message it saw and goes on: its whole conversation is there, each
    message once, in order."""
    tokens = {user: await token_for(stack, user) for user in ("alice", "bob")}
    async with widget_socket(stack) as alice, widget_socket(stack) as bob:
        await authenticate(alice, tokens["alice"])
        await authenticate(bob, tokens["bob"])
        answers = {}
        for name, ws in (("alice", alice), ("bob", bob)):
            frames = await ask(ws, "How do I block my card?")
            answers[name] = frames[-1]
            assert "Freeze card" in frames[-1]["text"]
            assert frames[-1]["citations"], frames[-1]  # the FAQ entry it came from
        stack.podman.run("kill", stack.container("parlour-a"))
        dropped = await first_closed({"alice": alice, "bob": bob})
        survivor_name = "bob" if dropped == "alice" else "alice"
        survivor = bob if dropped == "alice" else alice
        frames = await ask(survivor, "What are your opening hours?")
        assert "Monday to Friday" in frames[-1]["text"]

    last_seen = answers[dropped]["seq"]
    async with widget_socket(stack) as again:
        ready = await authenticate(again, await token_for(stack, dropped), last_seq=last_seen)
        assert ready["last_seq"] == last_seen  # nothing it had not seen was lost or made up
        frames = await ask(again, "What are your opening hours?")
        assert "Monday to Friday" in frames[-1]["text"]
        assert frames[-1]["citations"]

    async with widget_socket(stack) as history:
        ready = await authenticate(history, await token_for(stack, dropped), last_seq=0)
        replayed = [await receive(history) for _ in range(ready["last_seq"])]
    messages = [f for f in replayed if f["type"] == "message"]
    assert [f["seq"] for f in messages] == [1, 2, 3, 4]
    assert [f["author"] for f in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[0]["text"] == "How do I block my card?"
    assert messages[2]["text"] == "What are your opening hours?"
    assert survivor_name != dropped


async def first_closed(sockets: dict[str, ClientConnection]) -> str:
    """The one socket the kill closed; the other must stay open."""

    async def closed(ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.recv()

    waits = {asyncio.ensure_future(closed(ws)): name for name, ws in sockets.items()}
    done, pending = await asyncio.wait(waits, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)  # its recv is over before the next
    assert len(done) == 1, "exactly one socket was on the killed process"
    return waits[done.pop()]
