"""refresh-token's service against a real token server on 127.0.0.1, real Redis, SQLite and
PostgreSQL: two concurrent refreshes of one account make one token request, a rotated refresh
token is saved before anything else (a crash right after the save does not lock the account
out), invalid_grant -> NEEDS_REAUTH without retries, 5xx/timeouts retry, 429 defers, a token not
near expiry is skipped unless forced; no token in results, errors or logs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet
from token_fake import Answer, FakeTokens, serve

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.domain.errors import JobDeferredError, JobProcessingError, PermanentJobError
from jobctl.processors.refresh_token import endpoint_for
from jobctl.services.platforms.oauth import TokenEndpoint, request_tokens
from jobctl.services.platforms.refresh import AccountLocks, Refresher, refresh_due
from jobctl.settings import load_settings
from jobctl.store.accounts_repo import AccountRepository

ACCESS, REFRESH = "access-0-SECRETVALUE", "refresh-0-SECRETVALUE"
SECRET = "client-SECRET-shh"


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def fake() -> Iterator[FakeTokens]:
    with serve(FakeTokens(refresh_tokens={REFRESH}, access_tokens={ACCESS})) as state:
        yield state


class Setup:
    def __init__(self, engine: Any, redis_url: str, fake: FakeTokens) -> None:
        self.key = Fernet.generate_key().decode()
        self.accounts = AccountRepository(engine, (self.key,))
        self.redis = redis.Redis.from_url(redis_url)
        self.fake = fake
        env = {
            "JOBCTL_X_TOKEN_URL": f"{fake.url}/2/oauth2/token", "JOBCTL_X_CLIENT_ID": "cid",
            "JOBCTL_X_CLIENT_SECRET": SECRET,
            "JOBCTL_LINKEDIN_TOKEN_URL": f"{fake.url}/oauth/v2/accessToken",
            "JOBCTL_LINKEDIN_CLIENT_ID": "li", "JOBCTL_LINKEDIN_CLIENT_SECRET": SECRET,
            "JOBCTL_FACEBOOK_TOKEN_URL": f"{fake.url}/v21.0/oauth/access_token",
            "JOBCTL_META_APP_ID": "app", "JOBCTL_META_APP_SECRET": SECRET,
            "JOBCTL_THREADS_TOKEN_URL": f"{fake.url}/refresh_access_token",
            "JOBCTL_INSTAGRAM_TOKEN_URL": f"{fake.url}/refresh_access_token",
            "JOBCTL_INSTAGRAM_TOKEN_GRANT": "ig_refresh_token", "JOBCTL_PUBLISH_TIMEOUT_SECONDS": "3",
        }  # fmt: skip
        self.settings = load_settings(env=env)

    def account(self, platform: str = "twitter", expires_in: timedelta = timedelta(hours=1),
                org: str = "acme", suffix: str = "") -> str:  # fmt: skip
        account = SocialAccount(
            id=f"acc_{platform}{suffix}", organization_id=org, platform=platform, handle=f"@acme_{platform}",
            external_id="2244994945", status=AccountStatus.CONNECTED, access_token=ACCESS,
            refresh_token=REFRESH if platform in ("twitter", "linkedin") else None,
            token_expires_at=now() + expires_in,
        )  # fmt: skip
        return self.accounts.add_account(account, now()).id

    def refresher(self, accounts: AccountRepository | None = None) -> Refresher:
        def request(endpoint: TokenEndpoint, account: SocialAccount) -> Any:
            return request_tokens(endpoint, account.access_token, account.refresh_token, now())

        return Refresher(
            accounts or self.accounts, AccountLocks(self.redis), lambda a: endpoint_for(self.settings, a),
            request, now=now, window_s=86400,
        )  # fmt: skip


@pytest.fixture
def setup(engine: Any, redis_url: str, fake: FakeTokens) -> Iterator[Setup]:
    s = Setup(engine, redis_url, fake)
    yield s
    s.redis.close()


def _no_secrets(*texts: str) -> None:
    for text in texts:
        assert "SECRETVALUE" not in text and SECRET not in text, text


def test_refresh_rotates_and_saves_the_new_tokens(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    acc = setup.account("twitter")
    before = setup.accounts.get_account(acc)
    assert before is not None
    result = setup.refresher().refresh(acc)
    assert result.action == "refreshed" and result.refresh_token_rotated
    after = setup.accounts.get_account(acc)
    assert after is not None and after.refresh_token in setup.fake.refresh_tokens
    assert after.access_token != ACCESS and after.token_expires_at and before.token_expires_at
    assert after.token_expires_at > before.token_expires_at
    [seen] = setup.fake.seen
    assert seen["form"]["grant_type"] == "refresh_token" and seen["form"]["refresh_token"] == REFRESH
    assert seen["auth"].startswith("Basic ")  # a confidential X client: Basic auth
    _no_secrets(json.dumps(result.to_json()), caplog.text)


def test_two_concurrent_refreshes_make_one_token_request(setup: Setup) -> None:
    """Two threads refresh one account at once against a slow endpoint: one request, and both
    jobs end with the same new tokens (the loser reports the winner's refresh)."""
    acc = setup.account("twitter")
    setup.fake.delay_s = 0.5
    results: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        try:
            results.append(setup.refresher().refresh(acc, force=True))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors and setup.fake.count() == 1
    assert sorted(r.action for r in results) == ["refreshed", "refreshed-by-other-job"]
    assert len({r.new_expires_at for r in results}) == 1


def test_a_crash_right_after_the_save_does_not_lock_the_account_out(setup: Setup) -> None:
    """X's refresh tokens are single-use: the server already retired the old one when it answers.
    The process dies right after the save; the next refresh uses the rotated token and works."""

    class CrashAfterSave(AccountRepository):
        def replace_tokens(self, *args: Any, **kwargs: Any) -> bool:
            assert super().replace_tokens(*args, **kwargs)
            raise SystemExit("killed right after the save")

    acc = setup.account("twitter")
    crashing = CrashAfterSave(setup.accounts._auto, (setup.key,))
    with pytest.raises(SystemExit):
        setup.refresher(crashing).refresh(acc)
    assert not setup.redis.exists(AccountLocks.key(acc))  # the lock went with it (finally)
    result = setup.refresher().refresh(acc, force=True)
    assert result.action == "refreshed"
    first, second = setup.fake.seen
    assert first["form"]["refresh_token"] == REFRESH and second["form"]["refresh_token"] != REFRESH
    assert setup.accounts.get_account(acc).status == AccountStatus.CONNECTED  # type: ignore[union-attr]


def test_invalid_grant_marks_the_account_needs_reauth(setup: Setup) -> None:
    acc = setup.account("linkedin")
    setup.fake.refresh_tokens.clear()  # revoked
    with pytest.raises(PermanentJobError) as caught:
        setup.refresher().refresh(acc)
    assert "NEEDS_REAUTH" in caught.value.message and "authorise the app again" in caught.value.message
    assert f"jobctl accounts reconnect {acc}" in caught.value.message  # in place, not remove + add
    assert "accounts remove" not in caught.value.message
    assert "invalid_grant" in caught.value.message
    account = setup.accounts.get_account(acc)
    assert account is not None and account.status == AccountStatus.NEEDS_REAUTH
    assert account.last_error and "invalid_grant" in account.last_error
    assert setup.fake.seen[0]["form"]["client_secret"] == SECRET  # LinkedIn: client_secret_post
    _no_secrets(caught.value.message, account.last_error)
    with pytest.raises(PermanentJobError, match="NEEDS_REAUTH") as again:  # no further token request
        setup.refresher().refresh(acc, force=True)
    assert f"jobctl accounts reconnect {acc}" in again.value.message
    assert setup.fake.count() == 1


def test_5xx_and_timeouts_retry_429_defers(setup: Setup) -> None:
    acc = setup.account("twitter")
    setup.fake.script = [Answer(500, body={"error": "server_error"})]
    with pytest.raises(JobProcessingError, match="HTTP 500") as caught:
        setup.refresher().refresh(acc)
    assert not isinstance(caught.value, PermanentJobError | JobDeferredError)
    setup.fake.script = [Answer(delay_s=4.0)]  # past the 3 s deadline
    with pytest.raises(JobProcessingError, match="no answer"):
        setup.refresher().refresh(acc)
    setup.fake.script = [Answer(429, {"retry-after": "120"}, {"title": "Too Many Requests"})]
    with pytest.raises(JobDeferredError) as deferred:
        setup.refresher().refresh(acc)
    assert deferred.value.retry_after_s == 120
    account = setup.accounts.get_account(acc)
    assert (
        account is not None and account.status == AccountStatus.CONNECTED and account.refresh_token == REFRESH
    )


def test_an_unknown_expiry_is_due_once_the_tokens_are_a_window_old(setup: Setup) -> None:
    from jobctl.services.platforms.refresh import is_due

    acc = setup.accounts.get_account(setup.account("twitter"))
    assert acc is not None and acc.updated_at is not None
    unknown = SocialAccount(**{**acc.__dict__, "token_expires_at": None})
    assert not is_due(unknown, acc.updated_at + timedelta(hours=23), 86400)
    assert is_due(unknown, acc.updated_at + timedelta(hours=24), 86400)


def test_a_token_far_from_expiry_is_skipped_unless_forced(setup: Setup) -> None:
    acc = setup.account("twitter", expires_in=timedelta(days=30))
    skipped = setup.refresher().refresh(acc)
    assert skipped.action == "skipped" and skipped.old_expires_at == skipped.new_expires_at
    assert setup.fake.count() == 0
    assert setup.refresher().refresh(acc, force=True).action == "refreshed"


@pytest.mark.parametrize("platform", ["facebook", "threads", "instagram"])
def test_meta_long_lived_tokens(setup: Setup, platform: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    acc = setup.account(platform)
    result = setup.refresher().refresh(acc)
    assert result.action == "refreshed" and result.new_expires_at is not None
    [seen] = setup.fake.seen
    grant = {"facebook": "fb_exchange_token", "threads": "th_refresh_token", "instagram": "ig_refresh_token"}
    assert seen["method"] == "GET" and seen["query"]["grant_type"] == grant[platform]
    account = setup.accounts.get_account(acc)
    assert account is not None and account.access_token in setup.fake.access_tokens
    setup.fake.access_tokens.clear()  # expired: Meta answers code 190
    with pytest.raises(PermanentJobError, match="NEEDS_REAUTH"):
        setup.refresher().refresh(acc, force=True)
    _no_secrets(caplog.text)  # httpx's request lines (token in the query) are filtered


def test_the_org_sweep_refreshes_only_due_accounts(setup: Setup) -> None:
    due = setup.account("twitter", expires_in=timedelta(hours=3))
    later = setup.account("linkedin", expires_in=timedelta(days=20))
    gone = setup.account("facebook", expires_in=timedelta(hours=2))
    setup.fake.access_tokens.clear()  # the Facebook one was revoked
    setup.fake.expires_in = 60 * 86400  # a 60-day token (LinkedIn-like): not due again
    result = refresh_due(setup.refresher(), "acme")
    by_id = {r["social_account_id"]: r for r in result["accounts"]}
    assert result["due"] == 2 and set(by_id) == {due, gone} and later not in by_id
    assert by_id[due]["action"] == "refreshed" and by_id[gone]["action"] == "failed"
    assert setup.accounts.get_account(gone).status == AccountStatus.NEEDS_REAUTH  # type: ignore[union-attr]
    assert refresh_due(setup.refresher(), "acme")["due"] == 0  # nothing due any more
    _no_secrets(json.dumps(result))


def test_a_dead_holders_lock_lapses_and_the_waiter_refreshes(setup: Setup) -> None:
    """A worker died holding the account's lock (no release): its lease runs out and the waiting
    job refreshes, once."""
    acc = setup.account("twitter")
    setup.redis.set(AccountLocks.key(acc), "dead-worker:1", px=1500)
    started = datetime.now(UTC)
    result = setup.refresher().refresh(acc)
    assert result.action == "refreshed" and setup.fake.count() == 1
    assert (datetime.now(UTC) - started).total_seconds() >= 1.0  # it waited for the lease
    assert not setup.redis.exists(AccountLocks.key(acc))
