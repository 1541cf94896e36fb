"""sync-analytics: fetch the metrics of each account's recent posts into PostAnalytics.

For one account, or every CONNECTED account of the organisation, one after the other (a job
per organisation is small; the analytics-sync queue's 60 slots run organisations side by side):
1. the platform client lists the account's posts published since the window's start, with
   their counts (see jobctl.services.platforms.metrics: the platform's own list, paged);
2. each post becomes a PostMetrics row, linked to our content item when one carries that
   external post id (topic, hashtags and publication time then come from it);
3. the rows of the account are inserted at once; the account's last error is cleared.

One failing account does not fail the others: the result lists every account with `ok`, the
posts stored, or the error's kind and message. Per account:
- token refused (401, Meta code 190) -> the account becomes NEEDS_REAUTH, with a message saying
  what the operator must do; it is not retried by this job;
- rate limited (429, Meta's rate codes) -> skipped, with the wait the platform asked for;
- unavailable (5xx, timeout) or rejected (other 4xx) -> skipped, kept as the account's last_error.

The job's outcome (SyncRun.raise_for_outcome):
- at least one account synced (or there was none to sync) -> COMPLETED, partial results listed;
- every account failed:
  - one was rate limited -> JobDeferredError, retry_after = the longest wait asked, so no account
    is asked again before its reset;
  - else one was unavailable -> a retryable JobProcessingError;
  - else (tokens refused, requests rejected) -> PermanentJobError: retrying cannot help.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobctl.domain.accounts import SocialAccount
from jobctl.domain.analytics import PostMetrics, engagement_rate
from jobctl.domain.errors import JobDeferredError, JobProcessingError, PermanentJobError
from jobctl.services.analytics import accounts as state
from jobctl.services.platforms.base import (
    ContentRejected,
    PlatformClient,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
    TokenRejected,
)
from jobctl.services.platforms.metrics import MetricsQuery, PostStats
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.analytics_repo import AnalyticsRepository, PublishedPost

log = logging.getLogger("jobctl.analytics")
ClientFactory = Callable[[SocialAccount], PlatformClient]

RATE_LIMITED, TOKEN_REJECTED, UNAVAILABLE, REJECTED = (
    "rate_limited",
    "token_rejected",
    "unavailable",
    "rejected",
)


@dataclass(frozen=True)
class AccountOutcome:
    social_account_id: str
    platform: str
    handle: str
    ok: bool
    posts: int = 0  # PostAnalytics rows written
    linked: int = 0  # of which are our content items
    error_kind: str | None = None  # rate_limited | token_rejected | unavailable | rejected
    message: str | None = None
    retry_after_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "social_account_id": self.social_account_id, "platform": self.platform,
            "handle": self.handle, "ok": self.ok, "posts": self.posts, "linked": self.linked,
        }  # fmt: skip
        if not self.ok:
            out.update(error_kind=self.error_kind, message=self.message)
            if self.retry_after_s is not None:
                out["retry_after_s"] = self.retry_after_s
        return out


@dataclass
class SyncRun:
    organization_id: str
    collected_at: datetime
    since: datetime | None
    accounts: list[AccountOutcome] = field(default_factory=list)
    learning: str = "not run"  # "recomputed: N insight(s)" | "failed: ..." (processors set it)
    metrics: list[PostMetrics] = field(default_factory=list, repr=False)

    @property
    def posts(self) -> int:
        return sum(a.posts for a in self.accounts)

    def to_json(self) -> dict[str, Any]:
        failed = [a for a in self.accounts if not a.ok]
        return {
            "organization_id": self.organization_id, "collected_at": self.collected_at.isoformat(),
            "since": self.since.isoformat() if self.since else None, "posts": self.posts,
            "accounts_synced": len(self.accounts) - len(failed), "accounts_failed": len(failed),
            "accounts": [a.to_json() for a in self.accounts], "learning": self.learning,
        }  # fmt: skip

    def raise_for_outcome(self) -> None:
        """Raise when every account failed (see the module docstring for which error)."""
        if not self.accounts or any(a.ok for a in self.accounts):
            return
        summary = "; ".join(f"{a.social_account_id} ({a.platform}): {a.message}" for a in self.accounts)
        kinds = {a.error_kind for a in self.accounts}
        if RATE_LIMITED in kinds:
            wait = max(a.retry_after_s or 0.0 for a in self.accounts if a.error_kind == RATE_LIMITED)
            raise JobDeferredError(f"every account failed, rate limited: {summary}", retry_after_s=wait)
        if UNAVAILABLE in kinds:
            raise JobProcessingError(f"every account failed: {summary}")
        raise PermanentJobError(f"every account failed: {summary}")


def to_metrics(
    account: SocialAccount, stats: Sequence[PostStats], ours: dict[str, PublishedPost], at: datetime
) -> list[PostMetrics]:
    out = []
    for s in stats:
        item = ours.get(s.external_post_id)
        interactions = s.likes + s.comments + s.shares + s.saves + s.clicks
        out.append(PostMetrics(
            organization_id=account.organization_id, platform=account.platform,
            external_post_id=s.external_post_id, collected_at=at, social_account_id=account.id,
            content_item_id=item.content_item_id if item else None, impressions=s.impressions,
            reach=s.reach, likes=s.likes, comments=s.comments, shares=s.shares, saves=s.saves,
            clicks=s.clicks, engagement_rate=engagement_rate(s.impressions, interactions),
            published_at=s.published_at or (item.published_at if item else None),
            topic=item.topic if item else None, hashtags=item.hashtags if item else (),
        ))  # fmt: skip
    return out


def _failure(account: SocialAccount, exc: PlatformError) -> AccountOutcome:
    kind, wait = UNAVAILABLE, None
    message = exc.message
    if isinstance(exc, RateLimited):
        kind, wait = RATE_LIMITED, exc.retry_after_s
    elif isinstance(exc, TokenRejected):
        kind = TOKEN_REJECTED
        message = (
            f"{exc.message}; account {account.id} ({account.platform} {account.handle}) is now "
            "NEEDS_REAUTH: reconnect it with a new token (`jobctl accounts reconnect "
            f"{account.id}`), then enqueue sync-analytics again"
        )
    elif isinstance(exc, ContentRejected) or not isinstance(exc, PlatformUnavailable):
        kind = REJECTED
    return AccountOutcome(account.id, account.platform, account.handle, False, error_kind=kind,
                          message=message, retry_after_s=wait)  # fmt: skip


def sync_account(
    account: SocialAccount,
    make_client: ClientFactory,
    accounts: AccountRepository,
    analytics: AnalyticsRepository,
    *,
    query: MetricsQuery,
    now: Callable[[], datetime],
    collected_at: datetime,
) -> tuple[AccountOutcome, list[PostMetrics]]:
    """Collect one account; never raises a platform error (it becomes the outcome). Every row
    of one run carries the run's time, so a run is one point of the trend."""
    client = make_client(account)
    try:
        stats = client.post_metrics(query)
    except PlatformError as exc:
        outcome = _failure(account, exc)
        if outcome.error_kind == TOKEN_REJECTED:
            state.mark_needs_reauth(accounts, account, exc.message, now())
        else:
            state.record_error(accounts, account, outcome.message or "", now())
        log.warning("analytics sync of %s failed: %s", account.id, outcome.message)
        return outcome, []
    finally:
        client.close()
    ours = analytics.published_posts(account.organization_id, account.platform)
    rows = to_metrics(account, stats, ours, collected_at)
    analytics.add_metrics(rows)
    state.mark_synced(accounts, account, now())
    linked = sum(1 for r in rows if r.content_item_id)
    return AccountOutcome(account.id, account.platform, account.handle, True, len(rows), linked), rows


def accounts_to_sync(
    accounts: AccountRepository, organization_id: str, social_account_id: str | None
) -> list[SocialAccount]:
    if social_account_id is None:
        return state.connected_accounts(accounts, organization_id)
    account = accounts.get_account(social_account_id)
    if account is None:
        raise PermanentJobError(f"no social account {social_account_id!r} (see `jobctl accounts list`)")
    if account.organization_id != organization_id:
        raise PermanentJobError(
            f"account {account.id} belongs to {account.organization_id}, not {organization_id}"
        )
    if not state.is_connected(account):
        raise PermanentJobError(
            f"account {account.id} ({account.platform} {account.handle}) is {account.status.value}"
            f"{': ' + account.last_error if account.last_error else ''}; reconnect it with a new token "
            f"(`jobctl accounts reconnect {account.id}`) before syncing it"
        )
    return [account]


def sync_analytics(
    accounts: AccountRepository,
    analytics: AnalyticsRepository,
    make_client: ClientFactory,
    *,
    organization_id: str,
    social_account_id: str | None,
    query: MetricsQuery,
    now: Callable[[], datetime],
    between_accounts: Callable[[int, int, SocialAccount], None] | None = None,
) -> SyncRun:
    """Sync the accounts; the run's per-account outcomes (raise_for_outcome decides the job)."""
    targets = accounts_to_sync(accounts, organization_id, social_account_id)
    run = SyncRun(organization_id, now(), query.since)
    for n, account in enumerate(targets):
        if between_accounts is not None:
            between_accounts(n, len(targets), account)
        outcome, rows = sync_account(
            account, make_client, accounts, analytics, query=query, now=now, collected_at=run.collected_at
        )
        run.accounts.append(outcome)
        run.metrics += rows
    return run
