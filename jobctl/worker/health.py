"""A small health and metrics HTTP server for long-running jobctl processes (scheduler, worker).

    server = HealthServer(port, checks, metrics=None, host="127.0.0.1").start()
    ...
    server.stop()

- `GET /healthz`: `checks()` returns (ok, details); the answer is 200 when ok, else 503, with
  the JSON body {"ok": ok, **details}. A check that raises is a 503 naming the error.
- `GET /metrics`: `metrics()` returns Prometheus text exposition (format 0.0.4); 404 when no
  metrics callable was given.
- Anything else: 404. HEAD is answered like GET, without a body.

Stdlib only (ThreadingHTTPServer in a daemon thread): no dependency, nothing to configure.
Port 0 picks a free port; `.port` is the bound one. Binds 127.0.0.1 unless told otherwise,
since health details are for the local supervisor, not the network.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jobctl.domain.errors import ConfigError
from jobctl.domain.redaction import redact

log = logging.getLogger("jobctl.health")

Checks = Callable[[], tuple[bool, dict[str, object]]]
Metrics = Callable[[], str]
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class HealthServer:
    """Serves /healthz and /metrics from callables, in a daemon thread."""

    def __init__(
        self, port: int, checks: Checks, metrics: Metrics | None = None, host: str = "127.0.0.1"
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

    def metrics_text(self) -> tuple[int, bytes]:
        if self.metrics is None:
            return 404, b"no metrics here\n"
        try:
            return 200, self.metrics().encode()
        except Exception as exc:
            return 500, redact(f"metrics failed: {type(exc).__name__}: {exc}\n").encode()


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
                status, payload = owner.metrics_text()
                ctype = PROMETHEUS_CONTENT_TYPE if status == 200 else "text/plain; charset=utf-8"
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
