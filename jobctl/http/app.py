"""The FastAPI application of `jobctl api`: routes, error answers, access log, /healthz, /metrics.

`create_app()` is uvicorn's factory (each `--workers` process builds its own). One JobctlAPI per
process, its backends connected at start-up (schema checked then, so an out-of-date database
stops `jobctl api` before it listens), shared by the threadpool that runs the routes: the
SQLAlchemy pool and the redis-py pool are thread-safe.

Access log: one line per request with the method, path, status, duration and token id; the
Authorization header is never logged. /metrics counts requests by route template and status
(a private registry plus the process collectors, as the worker's health server does).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter, Histogram
from prometheus_client.exposition import choose_encoder
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobctl import __version__
from jobctl.api.jobs import JobctlAPI
from jobctl.api.tokens import TokenAPI
from jobctl.domain.redaction import redact
from jobctl.http import errors, routes
from jobctl.http.config import load_http_config
from jobctl.http.schemas import Health
from jobctl.settings import Settings, load_settings
from jobctl.worker.health import process_registry

log = logging.getLogger("jobctl.http")


def _warm(api: JobctlAPI, tokens: TokenAPI) -> None:
    """Connect every backend once, before threads race to build them (cached_property)."""
    with api.backends.errors():
        _ = api.backends.engine, api.backends.repo, tokens.repo
        _ = api.backends.redis, api.backends.producer, api.registry


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        api = JobctlAPI(settings)
        tokens = TokenAPI(api)
        _warm(api, tokens)
        app.state.api, app.state.tokens = api, tokens
        try:
            yield
        finally:
            api.close()

    app = FastAPI(
        title="jobctl",
        version=__version__,
        description="Create and manage the content platform's background jobs. Bearer tokens are "
        "per organisation (`jobctl tokens create --org ORG`); a token sees its organisation's jobs only.",
        lifespan=lifespan,
    )
    app.state.http_config = load_http_config()
    errors.install(app)
    app.include_router(routes.router)
    _observe(app)
    return app


class AccessLog:
    """Pure ASGI middleware (not BaseHTTPMiddleware, which costs a task and a stream per
    request): counts, times and logs each request with its route template and token id."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            took = time.perf_counter() - start
            method = scope["method"]
            route = getattr(scope.get("route"), "path", "(unmatched)")
            self.requests.labels(method, route, str(status)).inc()
            self.latency.labels(method, route).observe(took)
            token_id = scope.get("state", {}).get("token_id", "-")
            log.info(
                f"{method} {scope['path']} {status} {took * 1000:.1f}ms "
                f"caller={token_id}",  # "token=" would be masked as a secret by the log redaction
                extra={"event": "http-request", "caller": token_id, "status": status},
            )


def _observe(app: FastAPI) -> None:
    registry = process_registry()
    requests = Counter(
        "jobctl_http_requests_total",
        "HTTP requests answered",
        ["method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "jobctl_http_request_seconds",
        "Time to answer an HTTP request",
        ["method", "route"],
        registry=registry,
    )

    app.add_middleware(AccessLog, requests=requests, latency=latency)

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}}, tags=["operations"])
    def healthz(request: Request) -> Any:
        """200 when the database and Redis answer, else 503 naming what failed (masked URLs)."""
        api: JobctlAPI = request.app.state.api
        body: dict[str, Any] = {"ok": True, "database": "ok", "redis": "ok"}
        for name, probe in (
            ("database", lambda: api.backends.repo.get("-")),
            ("redis", api.backends.redis.ping),
        ):
            try:
                with api.backends.errors():
                    probe()
            except Exception as exc:  # any failure is an unhealthy answer, never a 500
                body["ok"], body[name] = False, redact(str(exc))
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def metrics(request: Request) -> Response:
        """Prometheus metrics of this process (format as the Accept header asks)."""
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(registry), media_type=content_type)


def factory() -> FastAPI:
    """uvicorn's factory for `jobctl api`: logging as configured, then the app (per process)."""
    from jobctl.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
