"""Traces: off unless asked for; when on, a customer's message and everything it causes, down to
the stored answer, are one trace."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import INVALID_SPAN, NoOpTracer, StatusCode

from parlour.settings import MonitoringSettings
from parlour.tracing import exporting_provider, span, tracer_of, traces_url
from tests.conftest import running_stack
from tests.support import seed
from tests.support.chat import authenticate, is_assistant_message, open_socket, receive_until, say


async def test_a_customer_message_and_its_stored_answer_are_one_trace(
    tmp_path: Path, sqlite_url: str
) -> None:
    """The gateway's span of the message frame, the message's storing, the assistant's turn
    (retrieval, generation) in the task it runs in, and the answer's storing share one trace."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    async with running_stack(tmp_path, sqlite_url, tracer_provider=provider) as stack:
        org = await seed.organisation(stack.services)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org))
            await say(ws, "How do I block my card?")
            await receive_until(ws, is_assistant_message)
        async with httpx.AsyncClient(base_url=stack.url) as client:
            await client.get("/healthz")
        stack.server.stop()  # every span has ended
    spans = exporter.get_finished_spans()

    def named(name: str, **attributes: object) -> ReadableSpan:
        (span,) = [
            s
            for s in spans
            if s.name == name
            and all((s.attributes or {}).get(k) == v for k, v in attributes.items())
        ]
        return span

    frame = named("chat.frame")
    stored_question = named("chat.store_message", **{"parlour.author": "user"})
    turn = named("assistant.turn")
    stored_answer = named("chat.store_message", **{"parlour.author": "assistant"})
    chain = [frame, stored_question, turn, named("assistant.retrieve"), stored_answer]
    assert {trace_of(span) for span in chain} == {trace_of(frame)}
    assert frame.parent is None  # a frame's trace starts at the frame, not at the socket
    by_id = {s.context.span_id: s for s in spans if s.context}
    ancestors = []
    at: ReadableSpan | None = stored_answer
    while at is not None and at.parent is not None:
        at = by_id.get(at.parent.span_id)
        ancestors.append(at)
    assert ancestors[:2] == [turn, frame]
    request = named("GET /healthz")
    assert (request.attributes or {})["http.response.status_code"] == 200
    assert trace_of(request) != trace_of(frame)


def trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


def test_without_an_endpoint_nothing_is_exported_and_no_span_is_opened() -> None:
    """Traces off, a span is not even a no-op span: the chat opens two per message."""
    assert exporting_provider(MonitoringSettings()) is None
    tracer = tracer_of(None)
    assert isinstance(tracer, NoOpTracer)
    with span(tracer, "chat.frame") as current:
        assert current is INVALID_SPAN
        assert trace.get_current_span() is INVALID_SPAN


def test_an_endpoint_gets_the_sdks_batching_exporter() -> None:
    monitoring = MonitoringSettings(otlp_endpoint="http://127.0.0.1:4318")
    provider = exporting_provider(monitoring)
    try:
        assert isinstance(provider, TracerProvider)
    finally:
        if isinstance(provider, TracerProvider):
            provider.shutdown()
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert (
        traces_url("http://collector:4318/custom/traces") == "http://collector:4318/custom/traces"
    )


def test_a_failed_span_names_the_exceptions_type_and_never_its_message() -> None:
    """Spans never carry what a person wrote, which an exception's message may quote."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with pytest.raises(ValueError, match="walrus"), span(tracer_of(provider), "assistant.turn"):
        raise ValueError("my card is 4111 1111 1111 1111, says the walrus")
    (failed,) = exporter.get_finished_spans()
    assert (failed.status.status_code, failed.status.description) == (
        StatusCode.ERROR,
        "ValueError",
    )
    assert failed.events == ()
