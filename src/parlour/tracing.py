"""Traces (docs/monitoring.md): off by default, exported over OTLP/HTTP when
monitoring.otlp_endpoint is set.

Feature code uses only the OpenTelemetry API: the `Tracer` it is given (`tracer_of`), which is the
API's no-op unless a provider was made here or set globally. The SDK and its exporter are the
`otel` extra, imported only when an endpoint is configured, so the app runs without them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import (
    INVALID_SPAN,
    NoOpTracer,
    ProxyTracerProvider,
    Span,
    SpanKind,
    StatusCode,
    Tracer,
    TracerProvider,
)
from opentelemetry.util.types import AttributeValue

from parlour import __version__
from parlour.settings import MonitoringSettings

TRACER_NAME = "parlour"


def exporting_provider(monitoring: MonitoringSettings) -> TracerProvider | None:
    """The SDK's provider, batching spans to the OTLP/HTTP endpoint; None when none is set."""
    if monitoring.otlp_endpoint is None:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as missing:
        raise RuntimeError(
            "monitoring.otlp_endpoint needs the otel extra (pip install 'parlour[otel]')"
        ) from missing
    resource = Resource.create({"service.name": "parlour", "service.version": __version__})
    provider = SdkTracerProvider(resource=resource)
    exporter = OTLPSpanExporter(endpoint=traces_url(monitoring.otlp_endpoint))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def traces_url(endpoint: str) -> str:
    """The collector's traces URL: an endpoint given without a path gets OTLP's `/v1/traces`."""
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


def tracer_of(provider: TracerProvider | None) -> Tracer:
    """Parlour's tracer from `provider`; without one, the global provider's if something set
    it (before this is called), else the API's no-op tracer, whose spans cost nothing."""
    if provider is None and isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        return NOT_TRACING
    return trace.get_tracer(TRACER_NAME, __version__, tracer_provider=provider)


# Traces are off by default, and a no-op span still costs ~10 µs (a context attached and
# detached), twice per chat message: a tracer that does not trace opens none.
NOT_TRACING = NoOpTracer()
_UNTRACED = contextlib.nullcontext(INVALID_SPAN)


def span(
    tracer: Tracer,
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: dict[str, AttributeValue] | None = None,
) -> contextlib.AbstractContextManager[Span]:
    """The current span while the block runs. A failure is recorded by its exception's type
    only: a message may quote what a person wrote, and spans never carry that."""
    if isinstance(tracer, NoOpTracer):
        return _UNTRACED
    return _recording(tracer, name, kind, attributes)


@contextlib.contextmanager
def _recording(
    tracer: Tracer, name: str, kind: SpanKind, attributes: dict[str, AttributeValue] | None
) -> Iterator[Span]:
    with tracer.start_as_current_span(
        name,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except Exception as failure:
            current.set_status(StatusCode.ERROR, type(failure).__name__)
            raise


async def shut_down(provider: TracerProvider | None) -> None:
    """Export what is still batched, then stop (off the event loop: it waits for the network)."""
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        await asyncio.to_thread(shutdown)
