"""The queues and their concurrency and lock defaults (config may override them).

Apart from the job types (job_types.py) because settings need the queues at every start,
and the job types' payload models (pydantic) cost ~10 ms to import.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

CONTENT_GENERATION = "content-generation"
CONTEXT_SCRAPING = "context-scraping"
ANALYTICS_SYNC = "analytics-sync"


@dataclass(frozen=True)
class QueueSpec:
    name: str
    concurrency: int
    lock_seconds: int  # a running job whose worker stops renewing its lease this long is stalled


DEFAULT_QUEUES: dict[str, QueueSpec] = {
    CONTENT_GENERATION: QueueSpec(CONTENT_GENERATION, concurrency=10, lock_seconds=300),
    CONTEXT_SCRAPING: QueueSpec(CONTEXT_SCRAPING, concurrency=30, lock_seconds=120),
    ANALYTICS_SYNC: QueueSpec(ANALYTICS_SYNC, concurrency=60, lock_seconds=180),
}


def with_overrides(base: QueueSpec, concurrency: int | None, lock_seconds: int | None) -> QueueSpec:
    return replace(
        base,
        concurrency=concurrency if concurrency is not None else base.concurrency,
        lock_seconds=lock_seconds if lock_seconds is not None else base.lock_seconds,
    )
