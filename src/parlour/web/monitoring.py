"""What the operator's tools ask a node (docs/monitoring.md): whether it lives (`/livez`), whether
it can serve (`/readyz`), and its Prometheus metrics (`/metrics`).

`/metrics` is not public by default (T-104). On the main listener it is served only when
`monitoring.metrics_token` is set (32 characters or more), to requests that bear that token
(compared in constant time; an empty one never matches); without the setting it does not exist
(404, as any unknown path). `monitoring.metrics_listen` serves it instead on a listener of its
own (`metrics_app`, run by `parlour serve` beside the public one), without a token: that address
is the operator's to keep private.

The health answers name the checks that failed, never why: no exception text, address or secret.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from parlour import metrics
from parlour.errors import Unauthenticated, Unavailable
from parlour.web.deps import ServicesDep, declares, services_of
from parlour.web.errors import error_body
from parlour.web.policy import Public

router = APIRouter(tags=["monitoring"])


class MetricsTokenRefused(Unauthenticated):
    code = "metrics_token_refused"
    default_message = "Send the metrics token as a bearer token."


class NotReady(Unavailable):
    code = "not_ready"
    default_message = "Not ready to serve: a check failed."


@declares("metrics_token")
def metrics_token(request: Request) -> None:
    """The bearer of the operator's metrics token, and only where one is configured."""
    expected = services_of(request).settings.monitoring.metrics_token
    if expected is None:
        raise StarletteHTTPException(404, "Not Found")
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    sent = sent.strip()
    matches = hmac.compare_digest(sent.encode(), expected.get_secret_value().encode())
    # An empty token never matches, whatever the settings hold (they refuse one at load).
    if scheme.lower() != "bearer" or not sent or not matches:
        raise MetricsTokenRefused()


@router.get("/metrics", dependencies=[Depends(metrics_token)], include_in_schema=False)
async def metrics_behind_token() -> Response:
    return _metrics()


@router.get("/livez", dependencies=[Public])
async def live() -> dict[str, Any]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[Public])
async def ready(services: ServicesDep) -> dict[str, Any]:
    """The database answers, Redis too when configured, and the local model is loaded or
    loadable when it is the default provider; else 503 naming the checks that failed."""
    failing = await services.failing_checks()
    if failing:
        raise NotReady(details={"failing": failing})
    return {"status": "ok"}


def _metrics() -> Response:
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


def metrics_app() -> Starlette:
    """The separate listener's application: `/metrics` and nothing else."""

    async def serve_metrics(_request: Request) -> Response:
        return _metrics()

    async def not_found(_request: Request, _error: Exception) -> Response:
        return JSONResponse(error_body("not_found", "Not Found", None), status_code=404)

    return Starlette(
        routes=[Route("/metrics", serve_metrics, methods=["GET"])],
        exception_handlers={404: not_found, 405: not_found},
    )
