"""The worker's /healthz and /metrics, served by jobctl.worker.health.HealthServer."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobctl.worker.liveness import owner_info
from jobctl.worker.metrics import render

if TYPE_CHECKING:
    from jobctl.worker.pool import WorkerPool

# The supervisor ticks every 0.2 s; a loop silent this long is stuck.
LOOP_STALE_S = 10.0


def worker_checks(pool: WorkerPool) -> tuple[bool, dict[str, object]]:
    """Healthy when Redis and the database answer and the work loop ticked recently."""
    checks: dict[str, object] = {}
    ok = True
    try:
        pool.backends.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:
        ok, checks["redis"] = False, f"error: {type(exc).__name__}"
    try:
        pool.backends.repo.get("__healthz__")
        checks["database"] = "ok"
    except Exception as exc:
        ok, checks["database"] = False, f"error: {type(exc).__name__}"
    age = time.monotonic() - pool.last_tick
    checks["loop_age_s"] = round(age, 3)
    if age > LOOP_STALE_S:
        ok = False
        checks["loop"] = "stale"
    else:
        checks["loop"] = "ok"
    rt = pool.runtime
    checks["running"] = len(rt.running()) if rt else 0
    checks["worker"] = pool.owner
    checks["status"] = "ok" if ok else "unhealthy"
    return ok, checks


def worker_metrics(pool: WorkerPool) -> str:
    rt = pool.runtime
    snapshots: list[dict[str, Any]] = [rt.metrics.snapshot()] if rt else []
    for child in getattr(pool, "children", []):
        info = owner_info(pool.backends.redis, child)
        if info and "metrics" in info:
            snapshots.append(info["metrics"])
    running: dict[tuple[str, ...], float] = {}
    for e in rt.running() if rt else []:
        running[(e.queue, e.job_type)] = running.get((e.queue, e.job_type), 0) + 1
    depth: dict[tuple[str, ...], float] = {
        (q,): float(pool.backends.redis.llen(f"rq:queue:{q}")) for q in pool.options.queues
    }
    return render(snapshots, {"jobs_running": running, "queue_depth": depth})


def start_worker_health(pool: WorkerPool, port: int) -> Any:
    from jobctl.worker.health import HealthServer

    server = HealthServer(port, lambda: worker_checks(pool), lambda: worker_metrics(pool))
    server.start()
    return server
