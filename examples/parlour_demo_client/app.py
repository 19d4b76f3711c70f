"""The demo bank's site. Its customer "logs in" with a cookie; its backend asks Parlour for a
short-lived token for that customer, and the widget uses the token to open the chat."""

from __future__ import annotations

import contextlib
import html
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
SESSION_COOKIE = "demo_customer"


def create_demo_client(
    *, parlour_url: str, widget_id: str, api_key: str, own_origin: str
) -> Starlette:
    parlour_url = parlour_url.rstrip("/")
    parlour_ws = "ws" + parlour_url.removeprefix("http")
    csp = (
        "default-src 'none'; "
        f"script-src 'self' {parlour_url}; "
        # The widget fetches its organisation's config from Parlour and may show its logo.
        f"connect-src 'self' {parlour_url} {parlour_ws}; "
        f"style-src 'self'; img-src 'self' {parlour_url}; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )

    async def home(request: Request) -> Response:
        page = (STATIC / "index.html").read_text()
        page = page.replace("{{PARLOUR_URL}}", html.escape(parlour_url, quote=True))
        page = page.replace("{{WIDGET_ID}}", html.escape(widget_id, quote=True))
        # /guest: the same page for someone not signed in, chatting as an anonymous visitor.
        guest = request.url.path == "/guest"
        page = page.replace("{{VISITOR}}", "true" if guest else "false")
        page = page.replace("{{WHO}}", "Not signed in" if guest else "Signed in as a customer")
        response = HTMLResponse(page, headers={"Content-Security-Policy": csp})
        if SESSION_COOKIE not in request.cookies:
            response.set_cookie(
                SESSION_COOKIE,
                "customer-" + secrets.token_hex(6),
                httponly=True,
                samesite="strict",
                secure=urlsplit(own_origin).scheme == "https",
            )
        return response

    async def chat_token(request: Request) -> Response:
        customer = request.cookies.get(SESSION_COOKIE)
        # Only this site's own pages may ask for a token for the logged-in customer.
        if request.headers.get("origin") != own_origin or not customer:
            return JSONResponse({"error": "not signed in"}, status_code=403)
        client: httpx.AsyncClient = request.app.state.http
        answer = await client.post(
            f"{parlour_url}/v1/end-user-tokens",
            headers={"Authorization": f"Bearer {api_key}"},
            json={"user_id": customer, "origin": own_origin, "name": "Demo customer"},
        )
        if answer.status_code != 201:
            return JSONResponse({"error": "chat is unavailable"}, status_code=502)
        body = answer.json()
        return JSONResponse({"token": body["token"], "expires_at": body["expires_at"]})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10) as client:
            app.state.http = client
            yield

    return Starlette(
        routes=[
            Route("/", home),
            Route("/guest", home),
            Route("/api/chat-token", chat_token, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
