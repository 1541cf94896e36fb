"""Operations: run a worker, migrate the database, the embedded Redis server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobctl.queue.backends import Backends
from jobctl.settings import Settings


def run_worker(
    settings: Settings, queues: Sequence[str], *, burst: bool = False, name: str | None = None
) -> bool:
    """Run a worker in this process until stopped (burst: until its queues are empty)."""
    from jobctl.queue.worker import run_worker as _run

    backends = Backends(settings)
    try:
        rq_level = "DEBUG" if settings.log_level.upper() == "DEBUG" else "WARNING"
        return _run(backends, queues, burst=burst, name=name, rq_log_level=rq_level)
    finally:
        backends.close()


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
    from jobctl.store.engine import HEAD_REVISION, create_store_engine, current_revision

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
