"""`sync-analytics`: an organisation's CONNECTED accounts (or one account) -> their posts'
metrics in PostAnalytics, then brand learning recomputed (see jobctl.services.analytics.sync
for the per-account outcomes and the job's outcome rule).

The window: the payload's `since`, else its `lookback` counted back from now, else the worker's
analytics.lookback_days. Base URLs and the per-request deadline are the platform settings
publish-content uses (`[platforms]`, JOBCTL_*_API_URL, JOBCTL_PUBLISH_TIMEOUT_SECONDS).
"""

from __future__ import annotations

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
from jobctl.services.analytics.hooks import recompute_learning
from jobctl.services.analytics.sync import sync_analytics
from jobctl.services.platforms import PlatformClient
from jobctl.services.platforms.metrics import MetricsQuery
from jobctl.settings import Settings
from jobctl.store.analytics_repo import AnalyticsRepository
from jobctl.store.learning_repo import LearningRepository

LEARNING_WINDOW = timedelta(days=90)  # the collections brand learning is recomputed from
_lock = threading.Lock()
_repos: dict[str, tuple[AnalyticsRepository, LearningRepository]] = {}


def analytics_stores() -> tuple[AnalyticsRepository, LearningRepository]:
    """The analytics and learning repositories of the worker's database (one engine, shared by
    every slot of a thread-pool worker)."""
    from jobctl.store.engine import create_store_engine

    url = support.settings().effective_database_url
    with _lock:
        if url not in _repos:
            engine = create_store_engine(url, pool_size=5)
            _repos[url] = (AnalyticsRepository(engine), LearningRepository(engine))
        return _repos[url]


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

        run = sync_analytics(
            accounts_store(), analytics, make_client,
            organization_id=payload.organization_id, social_account_id=payload.social_account_id,
            query=query, now=support.now, between_accounts=between,
        )  # fmt: skip
        for o in run.accounts:
            said = f"{o.posts} posts" if o.ok else f"{o.error_kind}: {o.message}"
            ctx.log(f"{o.platform} {o.handle}: {said}", social_account_id=o.social_account_id)
        ctx.progress(len(run.accounts), len(run.accounts), f"{run.posts} posts")
        run.raise_for_outcome()
        if run.posts:
            since = run.collected_at - LEARNING_WINDOW
            latest = analytics.latest_per_post(payload.organization_id, since=since)
            run.learning = recompute_learning(payload.organization_id, latest, support.now(), learning)
        return run.to_json()
