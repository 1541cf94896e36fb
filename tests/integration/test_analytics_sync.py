"""sync-analytics' service on SQLite and PostgreSQL against the platform server on 127.0.0.1:
rows in post_analytics (one per post per collection, linked to our content items), partial
failure across accounts, a refused token -> NEEDS_REAUTH and a permanent (non-retryable) error,
rate limits -> a deferral with the platform's wait, and the repository's reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from platform_fake import SEED_START, FakePlatforms, Scripted, serve

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.domain.content import NewContent
from jobctl.domain.errors import JobDeferredError, JobProcessingError, PermanentJobError
from jobctl.services.analytics.accounts import CONNECTED
from jobctl.services.analytics.sync import sync_analytics
from jobctl.services.platforms import ClientSettings, Credentials, client_class
from jobctl.services.platforms.metrics import MetricsQuery
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.analytics_repo import AnalyticsRepository
from jobctl.store.content_repo import ContentRepository

TOKEN = "sync-tok-SECRET-5f4e3d2c"
BAD = "expired-tok-SECRET-11223344"


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with serve({TOKEN}) as server:
        yield server


class Setup:
    def __init__(self, engine: Any, fake: FakePlatforms) -> None:
        self.accounts = AccountRepository(engine, (Fernet.generate_key().decode(),))  # tokens at rest
        self.analytics = AnalyticsRepository(engine)
        self.content = ContentRepository(engine)
        self.fake = fake

    def account(
        self, platform: str, external_id: str, token: str = TOKEN, org: str = "acme"
    ) -> SocialAccount:
        account = SocialAccount(
            id=f"acc_{platform}_{external_id[-6:]}", organization_id=org, platform=platform,
            handle=f"@{org}_{platform}", external_id=external_id, status=CONNECTED,
            access_token=token,
        )  # fmt: skip
        return self.accounts.add_account(account, now())

    def client(self, account: SocialAccount) -> Any:
        settings = ClientSettings(self.fake.url, total_timeout_s=5.0)
        return client_class(account.platform)(
            settings, Credentials(account.external_id, account.access_token)
        )

    def sync(self, account_id: str | None = None, **query: Any) -> Any:
        return sync_analytics(
            self.accounts, self.analytics, self.client, organization_id="acme",
            social_account_id=account_id, query=MetricsQuery(**query), now=now,
        )  # fmt: skip


@pytest.fixture
def setup(engine: Any, fake: FakePlatforms) -> Setup:
    return Setup(engine, fake)


def test_an_account_syncs_its_posts_into_post_analytics_linked_to_our_items(setup: Setup) -> None:
    account = setup.account("twitter", "2244994945")
    ids = setup.fake.seed("twitter", "2244994945", 5)
    new = NewContent("twitter", 0, "Durable queues #Queues", ("#Queues",), (), "offline", "extractive-v1")
    item = setup.content.replace_job_content("acme", "gen-1", "durable queues", [new], now())[0]
    setup.accounts.mark_published(item.id, ids[2], now())

    run = setup.sync(account.id)
    run.raise_for_outcome()
    assert run.to_json()["accounts"] == [{
        "social_account_id": account.id, "platform": "twitter", "handle": "@acme_twitter", "ok": True,
        "posts": 5, "linked": 1,
    }]  # fmt: skip
    rows = setup.analytics.list_metrics("acme")
    assert len(rows) == 5 and {r.external_post_id for r in rows} == set(ids)
    ours = next(r for r in rows if r.external_post_id == ids[2])
    assert (
        ours.content_item_id == item.id and ours.topic == "durable queues" and ours.hashtags == ("#Queues",)
    )
    assert ours.published_at == SEED_START + timedelta(hours=10)  # the platform's time
    assert ours.engagement_rate == pytest.approx((12 + 2 + 1 + 1 + 3) / 1020)

    run2 = setup.sync(account.id)  # a second collection: new rows, trends
    assert run2.posts == 5
    assert len(setup.analytics.list_metrics("acme")) == 10
    latest = setup.analytics.latest_per_post("acme")
    assert len(latest) == 5 and {r.collected_at for r in latest} == {run2.collected_at}
    assert len(setup.analytics.list_metrics("acme", since=run2.collected_at)) == 5
    assert len(setup.analytics.list_metrics("acme", social_account_id="acc_other")) == 0
    assert setup.analytics.last_collected("acme") == {account.id: run2.collected_at}
    synced = setup.accounts.get_account(account.id)
    assert synced is not None and synced.last_error is None and synced.last_synced_at is not None


def test_one_failing_account_does_not_fail_the_others(setup: Setup) -> None:
    good = setup.account("twitter", "2244994945")
    broken = setup.account("linkedin", "urn:li:organization:5515715")
    expired = setup.account("threads", "25025320", token=BAD)
    setup.account("facebook", "1234567890", org="other")  # another organisation's: not visited
    setup.fake.seed("twitter", "2244994945", 3)
    setup.fake.seed("linkedin", "urn:li:organization:5515715", 3)
    setup.fake.script_metrics(Scripted(status=500, body={"status": 500, "message": "Internal Server Error"}),
                              owner="urn:li:organization:5515715")  # fmt: skip

    run = setup.sync()
    run.raise_for_outcome()  # two of three failed: still COMPLETED
    result = run.to_json()
    by_id = {a["social_account_id"]: a for a in result["accounts"]}
    assert by_id[good.id]["ok"] and by_id[good.id]["posts"] == 3
    assert by_id[broken.id]["error_kind"] == "unavailable" and "HTTP 500" in by_id[broken.id]["message"]
    assert by_id[expired.id]["error_kind"] == "token_rejected"
    assert (
        "NEEDS_REAUTH" in by_id[expired.id]["message"]
        and "jobctl accounts reconnect" in by_id[expired.id]["message"]
    )
    assert (result["accounts_synced"], result["accounts_failed"], result["posts"]) == (1, 2, 3)
    assert setup.accounts.get_account(expired.id).status == AccountStatus.NEEDS_REAUTH  # type: ignore[union-attr]
    kept = setup.accounts.get_account(broken.id)
    assert kept is not None and kept.status == CONNECTED and "HTTP 500" in (kept.last_error or "")
    assert BAD not in str(result) and TOKEN not in str(result)

    # The NEEDS_REAUTH account is not visited again; the others are.
    setup.fake.seen.clear()
    again = setup.sync()
    assert {a.social_account_id for a in again.accounts} == {good.id, broken.id}
    assert not any("25025320" in r["path"] for r in setup.fake.seen)


def test_a_refused_token_fails_the_job_permanently_and_marks_the_account(setup: Setup) -> None:
    account = setup.account("facebook", "1234567890", token=BAD)
    run = setup.sync(account.id)
    with pytest.raises(PermanentJobError) as caught:
        run.raise_for_outcome()
    assert caught.value.retryable is False
    assert "NEEDS_REAUTH" in caught.value.message and "reconnect it with a new token" in caught.value.message
    assert BAD not in caught.value.message
    stored = setup.accounts.get_account(account.id)
    assert stored is not None and stored.status == AccountStatus.NEEDS_REAUTH and stored.last_error
    with pytest.raises(PermanentJobError, match="is NEEDS_REAUTH"):  # asked for again: refused at once
        setup.sync(account.id)


def test_every_account_rate_limited_defers_by_the_longest_wait(setup: Setup) -> None:
    x = setup.account("twitter", "2244994945")
    ig = setup.account("instagram", "17841400008460056")
    setup.fake.script_metrics(Scripted(status=429, headers={"Retry-After": "120"}), owner="2244994945")
    setup.fake.script_metrics(Scripted(status=429, headers={"Retry-After": "30"}), owner="17841400008460056")
    run = setup.sync()
    with pytest.raises(JobDeferredError) as caught:
        run.raise_for_outcome()
    assert caught.value.retry_after_s == 120
    assert {a.social_account_id: a.retry_after_s for a in run.accounts} == {x.id: 120, ig.id: 30}


def test_every_account_unavailable_is_a_retryable_failure(setup: Setup) -> None:
    setup.account("twitter", "2244994945")
    setup.fake.script_metrics(Scripted(status=503, body={"title": "Service Unavailable"}))
    with pytest.raises(JobProcessingError) as caught:
        setup.sync().raise_for_outcome()
    assert caught.value.retryable is True and not isinstance(caught.value, PermanentJobError)


def test_since_limits_the_posts_and_an_unknown_account_is_refused(setup: Setup) -> None:
    account = setup.account("instagram", "17841400008460056")
    setup.fake.seed("instagram", "17841400008460056", 6)
    run = setup.sync(account.id, since=SEED_START + timedelta(hours=12))
    assert run.posts == 3  # posts at +15 h, +20 h, +25 h
    with pytest.raises(PermanentJobError, match="no social account"):
        setup.sync("acc_missing")
    other = setup.account("threads", "25025320", org="other")
    with pytest.raises(PermanentJobError, match="belongs to other"):
        setup.sync(other.id)


def test_no_connected_account_completes_with_nothing(setup: Setup) -> None:
    run = setup.sync()
    run.raise_for_outcome()
    assert run.to_json()["accounts"] == [] and run.posts == 0
