"""`parlour demo` as a person runs it, in processes of its own: one demo per data directory, a
second one refused before it changes anything, and the agent login it prints."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import ChildProcess, free_socket

# The demo imports, migrates and embeds its FAQ before it serves: slow on a busy 2-core machine.
START_TIMEOUT_SECONDS = 150.0


def free_port() -> int:
    with free_socket() as sock:
        return int(sock.getsockname()[1])


class Demo(ChildProcess):
    """`parlour demo` in a child process; every line it prints is kept."""

    def __init__(self, data_dir: Path, port: int, client_port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.client_url = f"http://127.0.0.1:{client_port}"
        super().__init__(demo_command(port, client_port), demo_env(data_dir), "parlour demo")

    def wait_until_serving(self) -> None:
        # Printed once both ports are bound: from then on a request waits to be served.
        self.wait_for("(Ctrl-C stops)", START_TIMEOUT_SECONDS)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=60)


def demo_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLOUR_")}
    return env | {"PARLOUR_DATA_DIR": str(data_dir)}


def demo_command(port: int, client_port: int) -> list[str]:
    return [
        sys.executable, "-m", "parlour", "demo",
        "--port", str(port), "--client-port", str(client_port),
    ]  # fmt: skip


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Demo]:
    demo = Demo(tmp_path / "demo", free_port(), free_port())
    try:
        demo.wait_until_serving()
        yield demo
    finally:
        demo.stop()


def chat_token(demo: Demo) -> httpx.Response:
    """What the demo site's page does: its backend asks Parlour for a token with its key."""
    with httpx.Client(base_url=demo.client_url, timeout=60) as site:
        site.get("/")
        return site.post("/api/chat-token", headers={"origin": demo.client_url})


@pytest.mark.timeout(400)
def test_a_second_demo_refuses_and_the_running_one_keeps_working(
    running: Demo, tmp_path: Path
) -> None:
    """A second `parlour demo` on the same data directory would revoke the running one's API
    key; it refuses, naming the running one, before it changes anything. One on another data
    directory finds the ports taken, and says so, before it starts."""
    assert chat_token(running).status_code == 200
    state = (tmp_path / "demo" / "demo.json").read_text()

    second = subprocess.run(
        demo_command(free_port(), free_port()),
        env=demo_env(tmp_path / "demo"),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
    )
    assert second.returncode == 1
    assert "a demo is already running from" in second.stderr
    assert f"(process {running.process.pid}) at {running.client_url}" in second.stderr
    port = running.url.rsplit(":", 1)[1]
    third = subprocess.run(
        demo_command(int(port), free_port()),
        env=demo_env(tmp_path / "another"),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
    )
    assert third.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in third.stderr
    assert not (tmp_path / "another" / "demo.json").exists()

    assert (tmp_path / "demo" / "demo.json").read_text() == state
    assert chat_token(running).status_code == 200


@pytest.mark.timeout(400)
def test_the_demo_prints_an_agent_login_for_its_own_organisation(running: Demo) -> None:
    """A person answers the demo's handoffs with it: the login leads to setting up two-step
    login, as every account's first does."""
    printed = "".join(running.output)
    found = re.search(r"e-mail (agent@demo-bank\.example), password (\S+)", printed)
    assert found, printed
    with httpx.Client(base_url=running.url, timeout=60) as browser:
        login = browser.post(
            "/dashboard/login",
            data={"email": found[1], "password": found[2]},
            headers={"origin": running.url},
        )
    assert (login.status_code, login.headers["location"]) == (303, "/dashboard/enrol")
