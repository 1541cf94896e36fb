"""Operations: run a worker, migrate the database, the embedded Redis server."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from jobctl.queue.backends import Backends
from jobctl.settings import Settings


def run_worker(
    settings: Settings,
    queues: Sequence[str],
    *,
    concurrency: int | None = None,
    burst: bool = False,
    name: str | None = None,
    grace_s: float | None = None,
    health_port: int | None = None,
    pool: str = "thread",
) -> int:
    """Run a worker process until stopped (burst: until its queues are empty); its exit code."""
    from jobctl.domain.errors import UnknownQueueError
    from jobctl.worker.pool import PoolOptions, WorkerPool

    for q in queues:
        if q not in settings.queues:
            raise UnknownQueueError(f"unknown queue {q!r} (known: {', '.join(sorted(settings.queues))})")
    if concurrency is None:
        concurrency = max(settings.queues[q].concurrency for q in queues)
        if pool == "process":  # a process per slot: as many as cores, unless asked otherwise
            concurrency = min(concurrency, os.cpu_count() or 1)
    # Thread slots each take a database connection per claim and finish; a few more for the
    # monitor, supervisor, reconciler and health server.
    backends = Backends(settings, db_pool_size=concurrency + 5 if pool == "thread" else 10)
    options = PoolOptions(
        queues=list(queues),
        concurrency=concurrency,
        name=name,
        burst=burst,
        grace_s=grace_s,
        rq_log_level="DEBUG" if settings.log_level.upper() == "DEBUG" else "WARNING",
        stats_every_s=settings.stats_log_seconds,
        health=_health_factory(health_port) if health_port is not None else None,
    )
    try:
        if pool == "process":
            from jobctl.worker.process_pool import ProcessPool

            return ProcessPool(backends, options).run()
        return WorkerPool(backends, options).run()
    finally:
        backends.close()


def _health_factory(port: int) -> Any:
    from jobctl.worker.health_checks import start_worker_health

    return lambda pool: start_worker_health(pool, port)


def upgrade_database(settings: Settings) -> tuple[str | None, str]:
    """Apply every pending migration; returns (revision before, revision after)."""
    from jobctl.store.engine import create_store_engine, upgrade_schema

    backends = Backends(settings)
    with backends.errors():
        engine = create_store_engine(settings.effective_database_url)
        try:
            return upgrade_schema(engine)
        finally:
            engine.dispose()


def database_status(settings: Settings) -> dict[str, Any]:
    from jobctl.domain.redaction import mask_url
    from jobctl.store.engine import create_store_engine, current_revision
    from jobctl.store.revision import HEAD_REVISION

    backends = Backends(settings)
    with backends.errors():
        engine = create_store_engine(settings.effective_database_url)
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
    return {
        "url": mask_url(settings.effective_database_url),
        "embedded": settings.uses_embedded_database,
        "revision": current,
        "head": HEAD_REVISION,
        "up_to_date": current == HEAD_REVISION,
    }


def embedded_redis_status(settings: Settings) -> dict[str, Any]:
    from dataclasses import asdict

    from jobctl.queue.embedded_redis import embedded_redis_status as _status

    status = asdict(_status(settings.data_dir))
    status["in_use"] = settings.uses_embedded_redis
    return {k: (str(v) if hasattr(v, "__fspath__") else v) for k, v in status.items()}


def stop_embedded_redis(settings: Settings) -> bool:
    from jobctl.queue.embedded_redis import stop_embedded_redis as _stop

    return _stop(settings.data_dir)
