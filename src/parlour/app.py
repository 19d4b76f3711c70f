"""create_app(settings): the one place the ASGI application is assembled."""

from __future__ import annotations

import contextlib
import gc
import inspect
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.requests import Request
from fastapi.responses import Response
from opentelemetry.trace import TracerProvider

from parlour import __version__
from parlour.errors import ParlourError
from parlour.services import Services, build_services
from parlour.settings import Settings
from parlour.storage.types import Clock, utcnow
from parlour.tracing import exporting_provider, shut_down, tracer_of
from parlour.web import dashboard, monitoring
from parlour.web.api import (
    accounts,
    allowlist,
    attachments,
    business_hours,
    canned_replies,
    client_keys,
    conversations,
    customers,
    end_users,
    knowledge,
    knowledge_gaps,
    knowledge_imports,
    mcp_servers,
    members,
    notes,
    operator,
    organisations,
    prompt_templates,
    ratings,
    reports,
    search,
    security_reports,
    teams,
    token_keys,
    tokens,
    webhooks,
    wellknown,
    widget_appearance,
)
from parlour.web.errors import document_api, install_error_handlers
from parlour.web.gateway.routes import ChatSockets
from parlour.web.middleware import RequestContextMiddleware
from parlour.web.proxy import parse_networks
from parlour.web.request_limits import RequestLimits, route_limits
from parlour.web.widget import router as widget_router
from parlour.web.widget_config import router as widget_config_router

# Every router of the app; tests walk them to check that each route keeps the rules. Chat
# sockets are served by `ChatSockets`, beside these.
ROUTERS = (
    accounts.router,
    organisations.router,
    allowlist.router,
    members.router,
    mcp_servers.router,
    webhooks.router,
    conversations.router,
    notes.router,
    canned_replies.router,
    teams.router,
    ratings.router,
    business_hours.router,
    widget_appearance.router,
    customers.router,
    search.router,
    token_keys.router,
    prompt_templates.router,
    operator.router,
    tokens.router,
    end_users.router,
    client_keys.router,
    knowledge.router,
    knowledge_imports.router,
    # Before reports' `/reports/{name}`: fixed reports of their own.
    knowledge_gaps.router,
    security_reports.router,
    reports.router,
    wellknown.router,
    attachments.router,
    monitoring.router,
    widget_router,
    widget_config_router,
    *dashboard.ROUTERS,
)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock = utcnow,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """The application; `clock` (tests set it) is the time its services read, and times the
    chat sockets too when it keeps timers of its own. Traces go to `tracer_provider` (tests
    give one), else to monitoring.otlp_endpoint's exporter when set, else nowhere."""
    settings = settings or Settings()
    exporting = None if tracer_provider is not None else exporting_provider(settings.monitoring)
    tracer = tracer_of(tracer_provider or exporting)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services: Services = build_services(settings, clock=clock, tracer=tracer)
        try:
            if settings.database.migrate_on_start:
                await services.migrate()
            await services.start()
            app.state.services = services
            _settle_startup_objects()
            yield
        finally:
            await services.aclose()
            await shut_down(exporting)

    docs = settings.api_docs_enabled
    app = FastAPI(
        title="Parlour",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    install_error_handlers(app)
    document_api(app, ROUTERS)
    for router in ROUTERS:
        app.include_router(router)

    async def answer(request: Request, error: ParlourError) -> Response:
        """As the route would answer the error itself: JSON, or a page on the dashboard."""
        answered = app.exception_handlers[ParlourError](request, error)
        return await answered if inspect.isawaitable(answered) else answered

    app.add_middleware(ChatSockets)
    app.add_middleware(
        RequestLimits,
        limit=settings.server.max_request_bytes,
        routes=route_limits((route for router in ROUTERS for route in router.routes), settings),
        answer=answer,
    )
    app.add_middleware(
        RequestContextMiddleware,
        trusted_proxies=parse_networks(settings.server.trusted_proxies),
        tracer=tracer,
    )
    dashboard.install(app)
    return app


def _settle_startup_objects() -> None:
    """Move what startup built (modules, services, caches) out of the collector's sight.

    Those objects live as long as the process, yet a full collection walks them every time; on a
    busy node that walk stalled the event loop for about 100 ms, the worst acknowledgement
    latency measured (bench/gateway). Frozen, they are never walked again.
    """
    gc.collect()
    gc.freeze()
