"""What the three context processors share: settings, the store, the fetch policy, a SyncRun.

The runner hands a processor only its payload and JobContext, so the context processors load
the worker's settings once per process and keep one small database engine per database URL
(thread-safe; shared by every slot of a thread-pool worker).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import cache

from jobctl.domain.errors import PermanentJobError
from jobctl.processors.base import JobContext
from jobctl.services.context import fetch
from jobctl.services.context.sync import SyncRun
from jobctl.settings import Settings, load_settings
from jobctl.store.context_repo import ContextRepository

_lock = threading.Lock()
_repos: dict[str, ContextRepository] = {}


@cache
def settings() -> Settings:
    return load_settings()


def store() -> ContextRepository:
    from jobctl.store.engine import shared_engine

    url = settings().effective_database_url
    with _lock:
        if url not in _repos:
            # In a worker: the worker's own pool (slots + 5, store.engine.share_engine); with a
            # pool of its own, syncs beyond its connections opened and closed one each.
            _repos[url] = ContextRepository(shared_engine(url, pool_size=10))
        return _repos[url]


def policy_for(s: Settings) -> fetch.FetchPolicy:
    """The fetch policy of these settings (private addresses only when allowed)."""
    return fetch.FetchPolicy(
        allow_private_addresses=s.fetch_allow_private_addresses,
        max_bytes=s.fetch_max_bytes,
        total_timeout_s=s.fetch_timeout_s,
    )


def policy() -> fetch.FetchPolicy:
    return policy_for(settings())


def now() -> datetime:
    return datetime.now(UTC)


def sync_run(ctx: JobContext) -> SyncRun:
    """Progress lines go to the job's log; each one also checks for a cancel (and renews the lease)."""

    def progress(message: str) -> None:
        ctx.check_cancelled()
        ctx.log(message)

    return SyncRun(job_id=ctx.job_id, now=now, progress=progress)


def organization(payload_org: str) -> str:
    if not payload_org:
        raise PermanentJobError("the payload names no organisation")
    return payload_org
