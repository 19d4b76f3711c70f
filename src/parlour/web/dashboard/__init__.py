"""The dashboard: server-rendered pages (Jinja) over the same services and policies as the
/v1 API. No script runs on them; forms post and redirect, under a CSP that allows only this
app's own stylesheet and images."""

from __future__ import annotations

import inspect

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from parlour import metrics
from parlour.errors import ParlourError
from parlour.web.dashboard import (
    account,
    allowlist,
    assistant,
    inbox,
    knowledge_gaps,
    members,
    operator,
    organisation,
    reports,
    search,
    sign_in,
    tools,
    webhooks,
)
from parlour.web.dashboard.pages import (
    HERE,
    GoTo,
    PublicPage,
    RenewedSession,
    StepUpNeeded,
    go,
    render,
    step_up_page,
)
from parlour.web.errors import http_status

_assets = APIRouter(include_in_schema=False)
_STYLESHEET = (HERE / "static" / "dashboard.css").read_bytes()


@_assets.get("/dashboard/static/dashboard.css", dependencies=[PublicPage])
async def stylesheet() -> Response:
    return Response(
        _STYLESHEET, media_type="text/css; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


ROUTERS = (
    sign_in.router,
    account.router,
    organisation.router,
    knowledge_gaps.router,
    allowlist.router,
    assistant.router,
    members.router,
    tools.router,
    webhooks.router,
    inbox.router,
    search.router,
    reports.router,
    operator.router,
    _assets,
)


def install(app: FastAPI) -> None:
    """Answer the pages' errors as pages rather than JSON, their redirects as redirects and a
    form that needs a step-up with the step-up form; and hand the browser a session a step-up
    renewed on whatever answer follows."""
    as_json = app.exception_handlers[ParlourError]

    async def on_error(request: Request, error: Exception) -> Response:
        if request.url.path.startswith("/dashboard") and isinstance(error, ParlourError):
            metrics.refused("http", error.code)
            status = http_status(error)
            return render(request, "error.html", status_code=status, error=error.message)
        answer = as_json(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    async def on_go_to(_request: Request, leave: Exception) -> Response:
        assert isinstance(leave, GoTo)
        return go(leave.url)

    async def on_step_up(request: Request, needed: Exception) -> Response:
        assert isinstance(needed, StepUpNeeded)
        return step_up_page(request, needed)

    app.add_exception_handler(ParlourError, on_error)
    app.add_exception_handler(GoTo, on_go_to)
    app.add_exception_handler(StepUpNeeded, on_step_up)
    app.add_middleware(RenewedSession)
