"""jobctl.worker.health.HealthServer: /healthz from a checks callable, /metrics, 404, clean stop."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from jobctl.domain.errors import ConfigError
from jobctl.worker.health import HealthServer


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_healthz_metrics_and_404() -> None:
    state = {"ok": True}
    server = HealthServer(0, lambda: (state["ok"], {"role": "leader"}), lambda: "x_total 3\n").start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert server.port != 0
        status, ctype, body = _get(base + "/healthz")
        assert status == 200 and ctype == "application/json"
        assert json.loads(body) == {"ok": True, "role": "leader"}
        state["ok"] = False
        status, _, body = _get(base + "/healthz")
        assert status == 503 and json.loads(body)["ok"] is False
        status, ctype, body = _get(base + "/metrics")
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4") and body == "x_total 3\n"
        assert _get(base + "/nope")[0] == 404
    finally:
        server.stop()
        server.stop()  # idempotent
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_failing_check_is_503_and_no_metrics_is_404() -> None:
    def broken() -> tuple[bool, dict[str, object]]:
        raise RuntimeError("redis://u:secret@h down")

    with HealthServer(0, broken) as server:
        status, _, body = _get(f"http://127.0.0.1:{server.port}/healthz")
        assert status == 503
        doc = json.loads(body)
        assert doc["ok"] is False and "secret" not in doc["error"] and "RuntimeError" in doc["error"]
        assert _get(f"http://127.0.0.1:{server.port}/metrics")[0] == 404


def test_port_in_use_is_a_config_error() -> None:
    with HealthServer(0, lambda: (True, {})) as first, pytest.raises(ConfigError, match=f":{first.port}"):
        HealthServer(first.port, lambda: (True, {})).start()
