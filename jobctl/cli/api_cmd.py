"""`jobctl api`: serve the HTTP API for applications (FastAPI on uvicorn).

FastAPI and uvicorn load inside the command, so `jobctl --help` does not pay for them. The
settings (JOBCTL_* and --config) reach every `--workers` process through the environment.
"""

from __future__ import annotations

import os
import socket
from typing import Annotated

import typer

from jobctl.cli.context import STATE


def register(app: typer.Typer) -> None:
    app.command("api")(api)


def api(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Server processes (each with its own pools).")
    ] = 1,
) -> None:
    """Serve the HTTP API (/api/jobs, /api/queues, /healthz, /metrics, /openapi.json) until Ctrl-C.

    Clients send `Authorization: Bearer TOKEN` (see `jobctl tokens create`)."""
    import uvicorn

    STATE.settings  # noqa: B018  (a bad config fails here, in one line, before any process starts)
    if STATE.config_path is not None:
        os.environ["JOBCTL_CONFIG"] = str(STATE.config_path.resolve())
    from jobctl.http.config import load_http_config

    load_http_config()  # likewise for the rate-limit variables
    _check_address(host, port)
    uvicorn.run(
        "jobctl.http.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # jobctl.http logs each request with its token id instead
        log_level="warning",
        server_header=False,
    )


def _check_address(host: str, port: int) -> None:
    """Fail in one line (exit 12) when the address is taken or invalid, before uvicorn starts
    (it would log its own multi-line error and exit 1)."""
    from jobctl.domain.errors import ConfigError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
