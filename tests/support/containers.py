"""Parlour's container image and compose file under Debian's podman, for the deployment tests.

No image registry is reachable here, so every image is built on this machine: the bases by
`debootstrap` from Debian's mirror (scripts/container-bases, cached under
~/.cache/parlour/container), Parlour's from the wheels of the lock (scripts/container-context)
with no network inside the build. podman runs with runc (its default runtime refuses this
kernel's cgroup layout) and ulimits no higher than this machine's hard limits.

With CI=true a machine where podman cannot run fails the run, rather than skipping the tests.
"""

from __future__ import annotations

import os
import queue
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(
    os.environ.get("PARLOUR_CONTAINER_CACHE", Path.home() / ".cache" / "parlour" / "container")
)
PYTHON_BASE = "localhost/parlour-base/python:bookworm"
SERVICES_BASE = "localhost/parlour-base/services:bookworm"
# Commands that build or fetch take minutes on a cold machine; each is still bounded.
BUILD_TIMEOUT_SECONDS = 900
COMMAND_TIMEOUT_SECONDS = 120


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"podman is required in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _limit(kind: int, ceiling: int) -> int:
    _, hard = resource.getrlimit(kind)
    return ceiling if hard == resource.RLIM_INFINITY else min(hard, ceiling)


@dataclass(frozen=True)
class Podman:
    """podman with runc and this machine's limits, through a containers.conf of its own."""

    conf: Path

    @classmethod
    def prepare(cls, folder: Path) -> Podman:
        for tool in ("podman", "runc", "debootstrap"):
            if shutil.which(tool) is None:
                unavailable(f"{tool} is not installed (scripts/setup --for-tests installs it)")
        if os.geteuid() != 0:
            unavailable("the container tests run podman as root")
        nofile = _limit(resource.RLIMIT_NOFILE, 65_536)
        nproc = _limit(resource.RLIMIT_NPROC, 4_096)
        conf = folder / "containers.conf"
        conf.write_text(
            "[containers]\n"
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
            "[engine]\n"
            'runtime = "runc"\n'
        )
        podman = cls(conf)
        probe = podman.run("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False)
        if probe.returncode != 0:
            unavailable(f"`podman info` failed: {probe.stderr.strip()[-500:]}")
        return podman

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT_SECONDS,
        input_text: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return self.command(
            ["podman", "--runtime", "runc", *args],
            check=check,
            timeout=timeout,
            input_text=input_text,
        )

    def command(
        self,
        argv: list[str],
        *,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT_SECONDS,
        input_text: str | None = None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            argv,
            env={**self.env, **(env or {})},
            cwd=cwd,
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv[:4])} … exited {done.returncode}:\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
            )
        return done

    def wait_for_log(self, container: str, text: str, timeout: float) -> None:
        """Block until `text` appears in the container's log, following it through restarts
        (a process that starts before its database is up exits, and compose starts it again)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            follower = subprocess.Popen(
                ["podman", "--runtime", "runc", "logs", "--follow", container],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            lines: queue.Queue[str | None] = queue.Queue()
            assert follower.stdout is not None
            threading.Thread(target=_pump, args=(follower.stdout, lines), daemon=True).start()
            try:
                while True:
                    line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
                    if line is None:
                        break  # the container stopped; follow its next start
                    if text in line:
                        return
            except queue.Empty:
                break
            finally:
                follower.kill()
                follower.wait(timeout=COMMAND_TIMEOUT_SECONDS)
        raise AssertionError(f"{container} never logged {text!r} within {timeout:.0f} s")

    def state(self, container: str) -> str:
        done = self.run("inspect", "--format", "{{.State.Status}}", container, check=False)
        return done.stdout.strip() if done.returncode == 0 else "missing"

    def bases(self) -> None:
        """The two debootstrap bases (cached: only an import, or nothing, after the first)."""
        self.command(
            [str(ROOT / "scripts" / "container-bases")],
            timeout=BUILD_TIMEOUT_SECONDS,
            env={"PARLOUR_CONTAINER_CACHE": str(CACHE)},
        )

    def build(self, context: Path, tag: str) -> None:
        """Parlour's image from `context`, with no network inside the build."""
        nofile = _limit(resource.RLIMIT_NOFILE, 65_536)
        nproc = _limit(resource.RLIMIT_NPROC, 4_096)
        self.run(
            "build", "--format", "docker", "--network", "none",
            "--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}",
            "--build-arg", f"BASE={PYTHON_BASE}",
            "--file", str(ROOT / "Dockerfile"), "--tag", tag, str(context),
            timeout=BUILD_TIMEOUT_SECONDS,
        )  # fmt: skip


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def build_context(folder: Path = CACHE / "context") -> Path:
    """The image's build context made from the lock on the host (scripts/container-context);
    kept between runs, so only Parlour's own wheel is made again."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "container-context"), str(folder)],
        check=True,
        capture_output=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )  # fmt: skip
    return folder
