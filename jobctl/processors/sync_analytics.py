"""`sync-analytics`: an organisation's CONNECTED accounts (or one account) -> their posts'
metrics in PostAnalytics, then brand learning recomputed (see jobctl.services.analytics.sync
for the per-account outcomes and the job's outcome rule). In a worker, the recompute is
coalesced over a burst of syncs of one organisation (jobctl.services.analytics.coalesce): the
result's `learning` says "recomputed: ...", or "deferred"/"coalesced" to which recompute
includes this sync's metrics.

The window: the payload's `since`, else its `lookback` counted back from now, else the worker's
analytics.lookback_days. Base URLs and the per-request deadline are the platform settings
publish-content uses (`[platforms]`, JOBCTL_*_API_URL, JOBCTL_PUBLISH_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.accounts import SocialAccount
from jobctl.domain.payloads import SyncAnalyticsPayload
from jobctl.domain.timeparse import parse_duration
from jobctl.processors import content_support as support
from jobctl.processors.base import JobContext
from jobctl.processors.publish_content import accounts_store, client_for
from jobctl.services.analytics.coalesce import LearningCoalescer, settle_learning
from jobctl.services.analytics.hooks import recompute_learning
from jobctl.services.analytics.sync import sync_analytics
from jobctl.services.platforms import PlatformClient
from jobctl.services.platforms.metrics import MetricsQuery
from jobctl.settings import Settings
from jobctl.store.analytics_repo import AnalyticsRepository
from jobctl.store.learning_repo import LearningRepository

log = logging.getLogger("jobctl.analytics")
LEARNING_WINDOW = timedelta(days=90)  # the collections brand learning is recomputed from
_lock = threading.Lock()
_repos: dict[str, tuple[AnalyticsRepository, LearningRepository]] = {}
_coalescers: dict[int, LearningCoalescer] = {}


def analytics_stores() -> tuple[AnalyticsRepository, LearningRepository]:
    """The analytics and learning repositories of the worker's database (one engine, shared by
    every slot of a thread-pool worker)."""
    from jobctl.store.engine import shared_engine

    url = support.settings().effective_database_url
    with _lock:
        if url not in _repos:
            engine = shared_engine(url, pool_size=5)
            _repos[url] = (AnalyticsRepository(engine), LearningRepository(engine))
        return _repos[url]


def coalescer(ctx: JobContext) -> LearningCoalescer | None:
    """The worker's brand-learning coalescer (one per Redis client); None outside a worker."""
    if ctx.redis is None:
        return None
    with _lock:
        key = id(ctx.redis)
        if key not in _coalescers:
            _coalescers[key] = LearningCoalescer(ctx.redis)
        return _coalescers[key]


def window_start(payload: SyncAnalyticsPayload, settings: Settings, now: datetime) -> datetime:
    if payload.since is not None:
        since = payload.since
        return since if since.tzinfo else since.replace(tzinfo=UTC)
    if payload.lookback is not None:
        return now - parse_duration(payload.lookback)
    return now - timedelta(days=settings.analytics_lookback_days)


class SyncAnalyticsProcessor:
    job_type: ClassVar[str] = "sync-analytics"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, SyncAnalyticsPayload)
        ctx.check_cancelled()
        settings = support.settings()
        analytics, learning = analytics_stores()
        query = MetricsQuery(
            since=window_start(payload, settings, support.now()),
            max_posts=payload.max_posts or settings.analytics_max_posts,
        )

        def between(n: int, total: int, account: SocialAccount) -> None:
            ctx.check_cancelled()
            ctx.progress(n, total, f"{account.platform} {account.handle}")

        def make_client(account: SocialAccount) -> PlatformClient:
            client = client_for(settings, account, ctx.rate_gate)  # the account's shared rate gate
            client.before_request = ctx.check_cancelled  # progress per request; a cancel stops it
            return client

        org = payload.organization_id

        def recompute() -> str:
            ctx.check_cancelled()  # a touch: a long recompute loop keeps the lease
            since = support.now() - LEARNING_WINDOW
            latest = analytics.latest_per_post(org, since=since)
            return recompute_learning(org, latest, support.now(), learning)

        def others_due() -> bool:
            return analytics.other_jobs_due(org, self.job_type, ctx.job_id, support.now())

        try:
            run = sync_analytics(
                accounts_store(), analytics, make_client,
                organization_id=org, social_account_id=payload.social_account_id,
                query=query, now=support.now, between_accounts=between,
            )  # fmt: skip
            stored = run.posts > 0
            for o in run.accounts:
                said = f"{o.posts} posts" if o.ok else f"{o.error_kind}: {o.message}"
                ctx.log(f"{o.platform} {o.handle}: {said}", social_account_id=o.social_account_id)
            ctx.progress(len(run.accounts), len(run.accounts), f"{run.posts} posts")
            run.raise_for_outcome()
        except BaseException:
            # A failed job still settles: a sync that deferred its recompute to this one counts
            # on it (it stored nothing itself, so it only recomputes for the others).
            _settle_quietly(org, ctx, recompute, others_due)
            raise
        run.learning = settle_learning(
            coalescer(ctx), org, stored=stored, recompute=recompute, others_due=others_due
        )
        return run.to_json()


def _settle_quietly(org: str, ctx: JobContext, recompute: Any, others_due: Any) -> None:
    try:
        settle_learning(coalescer(ctx), org, stored=False, recompute=recompute, others_due=others_due)
    except Exception as exc:  # the job's own error is the one to report
        log.warning("brand learning not settled for %s: %s: %s", org, type(exc).__name__, exc)
