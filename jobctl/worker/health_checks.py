"""The worker's /healthz and /metrics, served by jobctl.worker.health.HealthServer.

/metrics is this process's registry (process_*, python_*) plus a WorkerCollector whose source,
`worker_sample`, adds up this process's counters and those its process-pool children publish
with their heartbeat (a `--pool process` parent runs no job itself), at each scrape."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobctl.worker.liveness import owner_info
from jobctl.worker.metrics import Depth, WorkerCollector

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


def worker_sample(pool: WorkerPool) -> tuple[list[dict[str, Any]], Depth]:
    """The snapshots to add up (ours, our children's) and the queue depths of the moment."""
    rt = pool.runtime
    snapshots: list[dict[str, Any]] = [rt.metrics.snapshot()] if rt else []
    for child in getattr(pool, "children", []):
        info = owner_info(pool.backends.redis, child)
        if info and "metrics" in info:
            snapshots.append(info["metrics"])
    with pool.backends.redis.pipeline(transaction=False) as pipe:
        for q in pool.options.queues:
            pipe.llen(f"rq:queue:{q}")
        lengths = pipe.execute()
    return snapshots, {q: float(n) for q, n in zip(pool.options.queues, lengths, strict=True)}


def start_worker_health(pool: WorkerPool, port: int) -> Any:
    from jobctl.worker.health import HealthServer, process_registry

    registry = process_registry(WorkerCollector(lambda: worker_sample(pool)))
    server = HealthServer(port, lambda: worker_checks(pool), registry)
    server.start()
    return server
