"""The HTTP API (`jobctl api`): acknowledgement of `POST /api/jobs` with 50 concurrent clients
against a real uvicorn on 127.0.0.1 (PostgreSQL, the real Redis; `--workers 2`, one per core of
the reference machine, JOBCTL_BENCH_HTTP_WORKERS to change it).

- `http-ack-p99`: p99 time from sending the request to holding the 202 (job id and status),
  against the seed's 2 s; p50 in the note.
- `http-enqueue-rate`: requests per second the server acknowledged, against the Python API's
  `enqueue_job` rate (one thread, same database and Redis, same run) as the baseline: the ratio
  is what the HTTP layer (parsing, auth, rate-limit counter, validation, JSON) costs.

The clients run on the same machine as the server (asyncio + httpx, one connection each), so
on a small loaded machine they compete with it for CPU: the figures are a floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

from benchmarks.environment import BenchmarkSetupError, Env
from benchmarks.harness import Benchmark, Result, Target, at_most_abs

CLIENTS = 50
SERVER_PROCESSES = int(os.environ.get("JOBCTL_BENCH_HTTP_WORKERS", "2"))
ACK_TARGET_MS = 2000.0


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(env: Env, url: str) -> Iterator[str]:
    import httpx

    port = _port()
    environ = env.subprocess_environ(url, JOBCTL_API_RATE_LIMIT="0", JOBCTL_LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [env.exe("jobctl"), "api", "--port", str(port), "--workers", str(SERVER_PROCESSES)],
        env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise BenchmarkSetupError(f"jobctl api exited with {process.returncode}: {err[-300:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise BenchmarkSetupError("jobctl api did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


async def _clients(base: str, token: str, total: int) -> tuple[list[float], float]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    left = iter(range(total))
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as http:

        async def one_client() -> None:
            for n in left:
                # One organisation per job, as in the baseline: the active-job limit (50 per
                # organisation) is not what is measured. An admin token may name any.
                body = {"type": "ping", "queue": "analytics-sync", "payload": {"organization_id": f"h{n}"}}
                start = time.perf_counter()
                answer = await http.post("/api/jobs", json=body)
                latencies.append((time.perf_counter() - start) * 1000)
                if answer.status_code != 202:
                    raise RuntimeError(f"POST /api/jobs answered {answer.status_code}: {answer.text[:200]}")

        await asyncio.gather(*(http.get("/healthz") for _ in range(CLIENTS)))  # open the connections
        start = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
        wall = time.perf_counter() - start
    return latencies, wall


def _measure(env: Env) -> dict[str, Any]:
    from jobctl.api import JobctlAPI
    from jobctl.api.tokens import TokenAPI

    total = env.pick(tiny=60, small=600, default=3_000)
    env.flush_redis()
    with env.database("pg") as url:
        api = JobctlAPI(env.settings(url))
        try:
            _, token = TokenAPI(api).create(None, "bench-http", admin=True)
            api.enqueue_job("ping", {}, queue="analytics-sync")  # connect
            start = time.perf_counter()
            for n in range(total):
                api.enqueue_job("ping", {}, queue="analytics-sync", organization_id=f"p{n}")
            python_rate = total / (time.perf_counter() - start)
        finally:
            api.close()
        with _server(env, url) as base:
            latencies, wall = asyncio.run(_clients(base, token, total))
    env.flush_redis()
    return {"latencies": latencies, "rate": total / wall, "python_rate": python_rate, "total": total}


def _measured(env: Env) -> dict[str, Any]:
    return dict(env.kept("http-api", lambda: contextlib.nullcontext(_measure(env))))


def run_ack(env: Env) -> Result:
    m = _measured(env)
    lat = m["latencies"]
    note = (
        f"{CLIENTS} clients, {m['total']} requests: p50 {_pct(lat, 0.5):.1f} ms, "
        f"p99 {_pct(lat, 0.99):.1f} ms; clients share the machine with the server"
    )
    return Result(
        "http-ack-p99", _pct(lat, 0.99), None, "ms p99", [at_most_abs(ACK_TARGET_MS, "ms")], note=note
    )


def run_rate(env: Env) -> Result:
    m = _measured(env)
    note = (
        f"{CLIENTS} clients over HTTP, {SERVER_PROCESSES} uvicorn process(es): {m['rate']:.0f} req/s; "
        "baseline: "
        f"JobctlAPI.enqueue_job in one thread, {m['python_rate']:.0f}/s (same database and Redis)"
    )
    targets: list[Target] = []  # informational: what the HTTP layer costs
    return Result("http-enqueue-rate", m["rate"], m["python_rate"], "req/s", targets, note=note)


BENCHMARKS = [
    Benchmark("http-ack-p99", "POST /api/jobs acknowledgement, 50 clients, real uvicorn", run_ack, ("http",)),
    Benchmark("http-enqueue-rate", "POST /api/jobs per second vs JobctlAPI.enqueue_job", run_rate, ("http",)),
]
