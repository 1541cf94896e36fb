"""jobctl.worker.health.HealthServer: /healthz from a checks callable, /metrics from a registry
(format by the Accept header), 404, a failing collector, clean stop."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.parser import text_string_to_metric_families

from jobctl.domain.errors import ConfigError
from jobctl.worker.health import HealthServer, process_registry


class Things:
    """A collector of one counter; `broken` makes collect() raise."""

    broken = False

    def collect(self) -> Iterator[Metric]:
        if self.broken:
            raise RuntimeError("redis://u:secret@h down")
        yield CounterMetricFamily("x", "Things", value=3)


def _get(url: str, accept: str | None = None) -> tuple[int, str, str]:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_healthz_metrics_and_404() -> None:
    state = {"ok": True}
    things = Things()
    server = HealthServer(0, lambda: (state["ok"], {"role": "leader"}), process_registry(things)).start()
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
        assert status == 200 and ctype == CONTENT_TYPE_PLAIN_0_0_4
        families = {f.name: f for f in text_string_to_metric_families(body)}
        assert families["x"].type == "counter" and families["x"].samples[0].value == 3
        assert "process_cpu_seconds" in families and "python_info" in families
        status, ctype, body = _get(base + "/metrics", "application/openmetrics-text; version=1.0.0")
        assert ctype.startswith("application/openmetrics-text") and body.endswith("# EOF\n")
        things.broken = True
        status, _, body = _get(base + "/metrics")
        assert status == 500 and "RuntimeError" in body and "secret" not in body
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
