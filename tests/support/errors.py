"""The error catalogue as docs/errors.md shows it, with every module that defines errors loaded."""

from __future__ import annotations

import importlib
import pkgutil

import parlour
from parlour.web.errors import CatalogueEntry, catalogue

HEADER = """# Error codes

Every error Parlour answers with, by its stable `code`. Over HTTP it comes in the one JSON shape,
`{"error": {"code", "message", "request_id"[, "details"]}}`, with the status below; on a chat
socket, an error the gateway cannot answer with an `error` frame closes the socket with the close
code below and the message as its reason. Branch on `code`; `message` is for people and may
change. `scripts/error-catalogue` writes this page from the code (`parlour.web.errors.catalogue`),
and `tests/web/test_error_catalogue.py` fails when they differ.

| code | meaning | HTTP | close | defined in |
|---|---|---|---|---|
"""


def loaded_catalogue() -> list[CatalogueEntry]:
    for module in pkgutil.walk_packages(parlour.__path__, "parlour."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    return catalogue()


def rendered_catalogue() -> str:
    rows = [
        f"| `{e.code}` | {e.meaning} | {e.http_status or 'as routed'} | "
        f"{e.close_code or '—'} | `{e.defined_in}` |"
        for e in loaded_catalogue()
    ]
    return HEADER + "\n".join(rows) + "\n"
