"""The dashboard: server-rendered pages (Jinja) over the same services and policies as the
/v1 API. Forms post and redirect, under a CSP that allows only this app's own stylesheet,
images and scripts; every page works without script: the live desk's static/desk.js adds live
updates to the Inbox and conversation pages, and canned.js offers canned replies as an agent
types `/` in the reply box (which the server also expands), and imports.js follows an import's
progress on the knowledge page, and widget-preview.js draws the Widget page's live preview."""

from __future__ import annotations

import inspect

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from parlour import metrics
from parlour.errors import NotFound, ParlourError
from parlour.web.dashboard import (
    account,
    allowlist,
    assistant,
    business_hours,
    canned_replies,
    inbox,
    knowledge_editor,
    knowledge_gaps,
    knowledge_imports,
    learned_phrasings,
    members,
    operator,
    organisation,
    reports,
    search,
    sign_in,
    teams,
    tools,
    webhooks,
    widget_appearance,
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
# The dashboard's scripts (PAGE_CSP allows scripts from 'self' only): the live desk, keeping the
# Inbox and conversation pages up to date over the desk socket, the reply box's `/shortcut`
# suggestions, the knowledge page's progress of an import, and the Widget page's live preview.
_SCRIPTS = {
    name: (HERE / "static" / f"{name}.js").read_bytes()
    for name in ("desk", "canned", "imports", "widget-preview")
}


@_assets.get("/dashboard/static/dashboard.css", dependencies=[PublicPage])
async def stylesheet() -> Response:
    return Response(
        _STYLESHEET, media_type="text/css; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


@_assets.get("/dashboard/static/{name}.js", dependencies=[PublicPage])
async def script(name: str) -> Response:
    if (body := _SCRIPTS.get(name)) is None:
        raise NotFound()
    return Response(
        body,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


ROUTERS = (
    sign_in.router,
    account.router,
    organisation.router,
    knowledge_imports.router,
    knowledge_gaps.router,
    knowledge_editor.router,
    learned_phrasings.router,
    allowlist.router,
    assistant.router,
    members.router,
    teams.router,
    tools.router,
    webhooks.router,
    business_hours.router,
    widget_appearance.router,
    inbox.router,
    canned_replies.router,
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
