"""A small health and metrics HTTP server for long-running jobctl processes (scheduler, worker).

    registry = process_registry(MyCollector(...))
    server = HealthServer(port, checks, metrics=registry, host="127.0.0.1").start()
    ...
    server.stop()

- `GET /healthz`: `checks()` returns (ok, details); the answer is 200 when ok, else 503, with
  the JSON body {"ok": ok, **details}. A check that raises is a 503 naming the error.
- `GET /metrics`: the registry's metrics, encoded by prometheus-client in the format the
  scraper's Accept header asks for (OpenMetrics or the text format; the text format when it
  asks for none), with the content type prometheus-client gives for it. 404 when no registry
  was given.
- Anything else: 404. HEAD is answered like GET, without a body.

`process_registry` makes the private registry each process serves: the standard `process_*`
(CPU, memory, file descriptors, start time), `python_info` and `python_gc_*` metrics, plus the
given collectors, which yield jobctl's own numbers from current state at scrape time. Private,
not prometheus-client's global REGISTRY: tests run several in one process, and nothing else
we import can slip metrics into our answer.

The server is the stdlib's ThreadingHTTPServer in a daemon thread, so that /healthz and
/metrics share one port and one lifecycle. Port 0 picks a free port; `.port` is the bound one.
Binds 127.0.0.1 unless told otherwise, since health details are for the local supervisor, not
the network.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from jobctl.domain.errors import ConfigError
from jobctl.domain.redaction import redact

log = logging.getLogger("jobctl.health")

Checks = Callable[[], tuple[bool, dict[str, object]]]


def process_registry(*collectors: Collector) -> CollectorRegistry:
    """A private registry with the standard process/platform/GC collectors and `collectors`."""
    registry = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    for collector in collectors:
        registry.register(collector)
    return registry


class HealthServer:
    """Serves /healthz and /metrics from callables, in a daemon thread."""

    def __init__(
        self,
        port: int,
        checks: Checks,
        metrics: CollectorRegistry | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.requested_port = port
        self.checks = checks
        self.metrics = metrics
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (the requested one until start())."""
        if self._server is None:
            return self.requested_port
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        handler = _handler_class(self)
        try:
            server = ThreadingHTTPServer((self.host, self.requested_port), handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot serve health checks on {self.host}:{self.requested_port}: {exc.strerror or exc}"
            ) from None
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="jobctl-health", daemon=True)
        self._thread.start()
        log.info(
            f"health endpoint on http://{self.host}:{self.port}/healthz", extra={"event": "health-listen"}
        )
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HealthServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- answers ---------------------------------------------------------------------------------

    def health(self) -> tuple[int, bytes]:
        try:
            ok, details = self.checks()
            body: dict[str, object] = {"ok": bool(ok), **details}
        except Exception as exc:  # a failing check is an unhealthy process, not a crashed server
            ok, body = False, {"ok": False, "error": redact(f"{type(exc).__name__}: {exc}")}
        return (200 if ok else 503), json.dumps(body, default=str).encode()

    def metrics_text(self, accept: str | None = None) -> tuple[int, bytes, str]:
        """(status, body, content type) of a scrape whose Accept header is `accept`."""
        plain = "text/plain; charset=utf-8"
        if self.metrics is None:
            return 404, b"no metrics here\n", plain
        encode, content_type = choose_encoder(accept or "")
        try:
            return 200, encode(self.metrics), content_type
        except Exception as exc:  # a collector failing (Redis down) must not kill the server
            return 500, redact(f"metrics failed: {type(exc).__name__}: {exc}\n").encode(), plain


def _handler_class(owner: HealthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "jobctl-health"

        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                status, payload = owner.health()
                ctype = "application/json"
            elif path == "/metrics":
                status, payload, ctype = owner.metrics_text(self.headers.get("Accept"))
            else:
                status, payload, ctype = 404, b"not found: try /healthz or /metrics\n", "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if body:
                self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("health request: " + format, *args)

    return Handler
