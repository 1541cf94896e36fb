"""A real HTTP server on 127.0.0.1 for the context tests: routes the test registers, hits counted.

A route is a fixed answer (`Answer`: status, headers, body) or a function of the request handler
that writes its own response (a drip-fed body, a conditional GET). Every request is recorded
with its headers, so a test can prove a refused URL was never fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jobctl.domain.context import SourceKind, SourceRecord
from jobctl.services.context.fetch import FetchPolicy
from jobctl.services.context.sync import SyncRun
from jobctl.store.context_repo import ContextRepository


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Answer | Callable[[BaseHTTPRequestHandler], None]


class Site:
    """The server's routes and the requests it saw (path, lower-cased headers)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.routes: dict[str, Route] = {}
        self.hits: list[tuple[str, dict[str, str]]] = []
        self.client_ports: list[int] = []  # one per request: equal ports = a reused connection

    def serve(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.base + path

    def paths(self) -> list[str]:
        return [p for p, _ in self.hits]


def send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
    handler.send_response(answer.status)
    for key, value in answer.headers.items():
        handler.send_header(key, value)
    if "Content-Length" not in answer.headers:
        handler.send_header("Content-Length", str(len(answer.body)))
    handler.end_headers()
    handler.wfile.write(answer.body)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            site.hits.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            site.client_ports.append(self.client_address[1])
            route = site.routes.get(self.path)
            if route is None:
                send(self, Answer(404, b"no such page", {"Content-Type": "text/plain"}))
            elif isinstance(route, Answer):
                send(self, route)
            else:
                route(self)

    return Handler


@contextmanager
def serving(host: str = "127.0.0.1") -> Iterator[Site]:
    httpd = ThreadingHTTPServer((host, 0), _handler(Site("")))
    site = Site(f"http://{host}:{httpd.server_address[1]}")
    httpd.RequestHandlerClass = _handler(site)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()


LOCAL = FetchPolicy(allow_private_addresses=True, total_timeout_s=10)


def run_for(job_id: str, progress: list[str] | None = None) -> SyncRun:
    """A SyncRun of one job id whose progress lines land in `progress`."""
    from datetime import UTC, datetime

    lines = progress if progress is not None else []
    return SyncRun(job_id=job_id, now=lambda: datetime.now(UTC), progress=lines.append)


def rss_source(repo: ContextRepository, url: str, kind: SourceKind = SourceKind.RSS) -> SourceRecord:
    from datetime import UTC, datetime

    return repo.add_source("acme", kind, url, None, datetime.now(UTC))[0]
