"""The process's Prometheus metrics (docs/monitoring.md) and their exposition.

Every label takes values from a vocabulary the code fixes: a direction, an author kind, an
outcome or reason constant, an error code, a configured provider's name. Never an end user's id,
a customer's text, a name an organisation chose, or a token (T-104); a value that does not look
like a code constant is counted as "other". The tenant label, off by default, carries the
tenant's random id, and only on the chat and assistant counters.

Figures are process-wide, as the registry they feed is: `configure` (called by the composition
root) sets the tenant label for the process. With several processes per node, each started with
`PROMETHEUS_MULTIPROC_DIR` pointing at the same empty directory, prometheus-client keeps every
value in a file there and `exposition` sums them: any process answers for the node.

On the chat path a figure costs a counter increment or a histogram observation; the labelled
children used there are looked up once and kept, not built per message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_DIR_VARIABLE: Final = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST
OTHER: Final = "other"
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TENANT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_SLOW = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

OPEN_SOCKETS = Gauge(
    "parlour_chat_open_sockets",
    "Chat sockets open now (upgraded, not yet closed).",
    multiprocess_mode="livesum",
)
MESSAGES = Counter(
    "parlour_chat_messages",
    "Chat messages stored: in from customers, out from the assistant, agents and the system.",
    ["direction", "author", "tenant"],
)
ACK_SECONDS = Histogram(
    "parlour_chat_ack_seconds",
    "From a customer's message frame read to its `accepted` frame written.",
    buckets=_FAST,
)
TURN_SECONDS = Histogram(
    "parlour_assistant_turn_seconds",
    "An assistant turn, from the customer's stored message to the stored answer.",
    ["outcome"],
    buckets=_SLOW,
)
TURNS = Counter(
    "parlour_assistant_turns",
    "Assistant turns by outcome and reason (the turn record's).",
    ["outcome", "reason", "tenant"],
)
LLM_TOKENS = Counter(
    "parlour_llm_tokens",
    "Tokens the language models took in and gave out, by configured provider.",
    ["provider", "kind", "tenant"],
)
RETRIEVAL_SECONDS = Histogram(
    "parlour_knowledge_retrieval_seconds",
    "A search of an organisation's knowledge (lexical and dense, fused).",
    buckets=_FAST,
)
WEBHOOK_DELIVERIES = Counter(
    "parlour_webhook_deliveries",
    "Webhook delivery attempts by outcome: delivered, failed (tried again later) or gone.",
    ["outcome"],
)
REFUSALS = Counter(
    "parlour_refusals",
    "Requests and sockets refused, by transport and the error's stable code.",
    ["transport", "code"],
)
DATABASE_SECONDS = Histogram(
    "parlour_database_seconds",
    "A database transaction or read, from asking for a connection to its end.",
    ["operation"],
    buckets=_FAST,
)
REDIS_SECONDS = Histogram(
    "parlour_redis_seconds",
    "A Redis call on the request path, from taking a pooled connection to giving it back.",
    buckets=_FAST,
)

# The children the hot paths use, looked up once.
DATABASE_READ = DATABASE_SECONDS.labels("read")
DATABASE_TRANSACTION = DATABASE_SECONDS.labels("transaction")
DATABASE_DIRECT_WRITE = DATABASE_SECONDS.labels("direct_write")
_messages: dict[str, Callable[[], None]] = {}
_tenant_label = False


def configure(*, tenant_label: bool) -> None:
    """Whether chat and assistant counters carry the tenant's id (off: an empty label)."""
    global _tenant_label
    _tenant_label = tenant_label


def code(value: str | None) -> str:
    """`value` if it looks like a code constant (lower-case snake case), else "other": a label
    never carries free text, whatever a caller passes."""
    if value is None:
        return "none"
    return value if _CODE.fullmatch(value) else OTHER


def _tenant(tenant_id: str) -> str:
    """The tenant label: empty unless configured, and then only a tenant's random id."""
    if not _tenant_label:
        return ""
    return tenant_id if _TENANT_ID.fullmatch(tenant_id) else OTHER


def message_stored(author: str, tenant_id: str) -> None:
    """One message stored; `author` is the chat's author kind (user: in, any other: out)."""
    if _tenant_label:
        MESSAGES.labels(_direction(author), code(author), _tenant(tenant_id)).inc()
        return
    inc = _messages.get(author)
    if inc is None:
        inc = _messages[author] = MESSAGES.labels(_direction(author), code(author), "").inc
    inc()


def _direction(author: str) -> str:
    return "in" if author == "user" else "out"


def turn_finished(
    *,
    tenant_id: str,
    outcome: str,
    reason: str | None,
    provider: str,
    input_tokens: int,
    output_tokens: int,
    seconds: float,
) -> None:
    tenant = _tenant(tenant_id)
    TURN_SECONDS.labels(code(outcome)).observe(seconds)
    TURNS.labels(code(outcome), code(reason), tenant).inc()
    if input_tokens:
        LLM_TOKENS.labels(code(provider), "input", tenant).inc(input_tokens)
    if output_tokens:
        LLM_TOKENS.labels(code(provider), "output", tenant).inc(output_tokens)


def refused(transport: str, error_code: str) -> None:
    """An HTTP request answered with an error, or a socket refused or closed for one."""
    REFUSALS.labels(transport, code(error_code)).inc()


def webhook_attempt(outcome: str) -> None:
    WEBHOOK_DELIVERIES.labels(code(outcome)).inc()


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


def exposition() -> bytes:
    """Every figure of this process, or of every process of the node sharing the
    multiprocess directory, in Prometheus' text format."""
    directory = multiprocess_dir()
    if directory is None:
        return _generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return _generate_latest(registry)


def process_exited(pid: int | None = None) -> None:
    """Drop this process's live gauges (or those of the worker `pid`, which died) from the
    node's sums (multiprocess mode)."""
    directory = multiprocess_dir()
    if directory is not None:
        mark_process_dead(pid or os.getpid(), directory)  # type: ignore[no-untyped-call]
