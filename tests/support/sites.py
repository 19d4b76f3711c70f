"""A tenant's web site on loopback (the standard library's HTTP server): fixed answers by path,
and a record of the Host headers it was asked for."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Site:
    port: int
    pages: dict[str, Page]
    hosts_asked: list[str] = field(default_factory=list)


@contextlib.contextmanager
def serving(pages: dict[str, Page]) -> Iterator[Site]:
    site = Site(0, pages)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.hosts_asked.append(self.headers.get("Host", ""))
            page = site.pages.get(self.path, Page(b"not here", 404))
            self.send_response(page.status)
            for name, value in page.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
