"""publish-content's service against a real HTTP server on 127.0.0.1 that behaves like each
platform: one post per item, a timed-out first attempt that the server accepted is found (not
posted again), 429 defers with the wait, a refused token marks the account NEEDS_REAUTH, a
rejection marks the item FAILED with the platform's reason, 5xx retries; no token anywhere."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from platform_fake import FakePlatforms, Scripted, serve, serve_files

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.domain.content import ContentStatus, NewContent
from jobctl.domain.errors import JobDeferredError, JobProcessingError, PermanentJobError
from jobctl.services.platforms import ClientSettings, Credentials, client_class
from jobctl.services.platforms.linkedin import plain_text
from jobctl.services.platforms.publish import publish_item
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.content_repo import ContentRepository

TOKEN = "tok-SECRET-abcdef123456"
EXTERNAL = {
    "twitter": "2244994945", "linkedin": "urn:li:organization:5515715", "facebook": "1234567890",
    "instagram": "17841400008460056", "threads": "25025320",
}  # fmt: skip
BODY = "Durable job records keep operators informed https://acme.test/q (#1). #Queues"


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with serve({TOKEN}) as server:
        yield server


@pytest.fixture
def card_url(tmp_path: Path) -> Iterator[str]:
    """A JPEG on a "public" server: Instagram and Threads fetch the image_url they are given."""
    from PIL import Image

    Image.new("RGB", (1080, 1080), "#224466").save(tmp_path / "card.jpg", format="JPEG")
    with serve_files(tmp_path) as base:
        yield f"{base}/card.jpg"


class Setup:
    def __init__(self, engine: Any, fake: FakePlatforms, card_url: str) -> None:
        self.content = ContentRepository(engine)
        # Tokens are encrypted at rest: the repository gets a key, as the worker does from
        # JOBCTL_TOKEN_KEYS.
        self.accounts = AccountRepository(engine, (Fernet.generate_key().decode(),))
        self.fake = fake
        self.timeout_s = 5.0
        self.card_url = card_url

    def item(self, platform: str, body: str = BODY) -> str:
        new = NewContent(platform, 0, body, ("#Queues",), (), "offline", "extractive-v1")
        return self.content.replace_job_content(
            "acme", f"gen-{platform}-{time.monotonic_ns()}", "q", [new], now()
        )[0].id

    def account(self, platform: str) -> str:
        account = SocialAccount(
            id=f"acc_{platform}", organization_id="acme", platform=platform, handle=f"@acme_{platform}",
            external_id=EXTERNAL[platform], status=AccountStatus.CONNECTED, access_token=TOKEN,
        )  # fmt: skip
        return self.accounts.add_account(account, now()).id

    def client(self, account: SocialAccount) -> Any:
        settings = ClientSettings(self.fake.url, total_timeout_s=self.timeout_s)
        return client_class(account.platform)(
            settings, Credentials(account.external_id, account.access_token)
        )

    def publish(self, item_id: str, account_id: str, image_url: str | None = None) -> Any:
        return publish_item(
            self.content, self.accounts, self.client, content_item_id=item_id, social_account_id=account_id,
            job_id="job-1", now=now, image_url=image_url or self.card_url,
        )  # fmt: skip


@pytest.fixture
def setup(engine: Any, fake: FakePlatforms, card_url: str) -> Setup:
    return Setup(engine, fake, card_url)


@pytest.mark.parametrize("platform", ["twitter", "linkedin", "facebook", "instagram", "threads"])
def test_publishes_once_and_stores_the_external_id(setup: Setup, platform: str) -> None:
    item, account = setup.item(platform), setup.account(platform)
    result = setup.publish(item, account)
    sent = setup.fake.posts[0]["text"]
    # LinkedIn's commentary is "little text": the reserved characters arrive escaped.
    assert setup.fake.count(platform) == 1 and (plain_text(sent) if platform == "linkedin" else sent) == BODY
    stored = setup.content.get_content(item)
    assert stored is not None and stored.status == ContentStatus.PUBLISHED
    assert stored.external_post_id == result.external_post_id and stored.published_at is not None
    assert result.external_post_id.endswith(setup.fake.posts[0]["id"])
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in setup.fake.seen)
    assert all(TOKEN not in r["query"] for r in setup.fake.seen)  # never in a URL
    seen = len(setup.fake.seen)
    again = setup.publish(item, account)  # already PUBLISHED: no request at all
    assert again.already_published and len(setup.fake.seen) == seen and setup.fake.count() == 1


@pytest.mark.parametrize("platform", ["twitter", "threads", "linkedin"])
def test_a_timed_out_attempt_the_server_accepted_is_found_not_posted_again(
    setup: Setup, platform: str
) -> None:
    item, account = setup.item(platform), setup.account(platform)
    setup.timeout_s = 0.5
    setup.fake.script.append(Scripted(hang_s=2.0))  # accepts the post, answers after our deadline
    with pytest.raises(JobProcessingError) as info:
        setup.publish(item, account)
    assert info.value.retryable and "will retry" in str(info.value)
    assert setup.fake.count(platform) == 1
    stored = setup.content.get_content(item)
    assert stored is not None and stored.status == ContentStatus.DRAFT
    result = setup.publish(item, account)  # the retry
    assert result.found_existing and setup.fake.count(platform) == 1
    stored = setup.content.get_content(item)
    assert stored is not None and stored.status == ContentStatus.PUBLISHED
    assert stored.external_post_id is not None and stored.external_post_id.endswith(setup.fake.posts[0]["id"])


def test_a_second_job_for_the_same_item_defers_while_the_first_holds_it(setup: Setup) -> None:
    item, account = setup.item("threads"), setup.account("threads")
    setup.accounts.start_attempt(item, account, "job-other", now())  # another job is posting it
    with pytest.raises(JobDeferredError, match="job-other is publishing") as info:
        setup.publish(item, account)
    assert info.value.retry_after_s == 90 and setup.fake.seen == []
    later = datetime.now(UTC) + timedelta(seconds=91)  # the other job's claim lapsed: it is gone
    result = publish_item(
        setup.content, setup.accounts, setup.client, content_item_id=item, social_account_id=account,
        job_id="job-1", now=lambda: later, image_url=None,
    )  # fmt: skip
    assert not result.found_existing and setup.fake.count() == 1
    attempt = setup.accounts.get_attempt(item)
    assert attempt is not None and attempt.job_id == "job-1"


def test_a_retry_after_a_lost_request_posts_when_nothing_was_posted(setup: Setup) -> None:
    item, account = setup.item("twitter"), setup.account("twitter")
    setup.fake.script.append(
        Scripted(status=503, body={"title": "Service Unavailable", "detail": "over capacity"})
    )
    with pytest.raises(JobProcessingError) as info:
        setup.publish(item, account)
    assert info.value.retryable and "HTTP 503" in str(info.value) and setup.fake.count() == 0
    result = setup.publish(item, account)
    assert not result.found_existing and setup.fake.count() == 1


def test_429_defers_with_retry_after_and_x_reset(setup: Setup) -> None:
    item, account = setup.item("linkedin"), setup.account("linkedin")
    setup.fake.script.append(Scripted(status=429, headers={"Retry-After": "120"}, body={"status": 429}))
    with pytest.raises(JobDeferredError) as info:
        setup.publish(item, account)
    assert info.value.retry_after_s == 120 and setup.fake.count() == 0
    x_item, x_account = setup.item("twitter"), setup.account("twitter")
    reset = int(time.time()) + 300
    headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    setup.fake.script.append(Scripted(status=429, headers=headers, body={"title": "Too Many Requests"}))
    with pytest.raises(JobDeferredError) as info:
        setup.publish(x_item, x_account)
    assert info.value.retry_after_s is not None and 295 <= info.value.retry_after_s <= 300
    stored = setup.content.get_content(x_item)
    assert stored is not None and stored.status == ContentStatus.DRAFT


@pytest.mark.parametrize("platform", ["twitter", "facebook"])  # X: HTTP 401; Meta: HTTP 400, code 190
def test_a_refused_token_marks_the_account_needs_reauth_without_retries(setup: Setup, platform: str) -> None:
    item, account = setup.item(platform), setup.account(platform)
    setup.fake.tokens.clear()  # the platform revoked it
    with pytest.raises(PermanentJobError) as info:
        setup.publish(item, account)
    assert not info.value.retryable and "NEEDS_REAUTH" in str(info.value)
    stored = setup.accounts.get_account(account)
    assert stored is not None and stored.status == AccountStatus.NEEDS_REAUTH and stored.last_error
    seen = len(setup.fake.seen)
    with pytest.raises(PermanentJobError, match="NEEDS_REAUTH: reconnect"):
        setup.publish(item, account)
    assert len(setup.fake.seen) == seen  # a NEEDS_REAUTH account is not even tried


def test_rejected_content_is_failed_with_the_platforms_reason(setup: Setup) -> None:
    item, account = setup.item("twitter"), setup.account("twitter")
    reason = "You are not allowed to create a Tweet with duplicate content."
    setup.fake.script.append(
        Scripted(status=403, body={"title": "Forbidden", "type": "about:blank", "detail": reason})
    )
    with pytest.raises(PermanentJobError) as info:
        setup.publish(item, account)
    assert reason in str(info.value) and not info.value.retryable
    stored = setup.content.get_content(item)
    assert stored is not None and stored.status == ContentStatus.FAILED
    attempt = setup.accounts.get_attempt(item)
    assert attempt is not None and attempt.error == reason
    ig_item, ig_account = setup.item("instagram"), setup.account("instagram")
    with pytest.raises(PermanentJobError, match="need an image"):
        publish_item(
            setup.content, setup.accounts, setup.client, content_item_id=ig_item,
            social_account_id=ig_account, job_id=None, now=now, image_url=None,
        )  # fmt: skip


def test_no_token_in_any_log_line_or_error(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    for platform, step in (
        ("twitter", Scripted(status=400, body={"detail": f"bad request for token {TOKEN}"})),
        ("linkedin", Scripted(status=500, body={"message": f"oops {TOKEN}"})),
        ("threads", Scripted(status=429, body={"error": {"message": "limit", "code": 4}})),
    ):
        item, account = setup.item(platform), setup.account(platform)
        setup.fake.script.append(step)
        with pytest.raises(JobProcessingError) as info:
            setup.publish(item, account)
        messages.append(str(info.value))
    setup.fake.tokens.clear()
    with pytest.raises(PermanentJobError) as refused:
        setup.publish(setup.item("facebook"), setup.account("facebook"))
    messages.append(str(refused.value))
    assert "***" in messages[0] and "code 4" in messages[2]
    for text in [*messages, caplog.text]:
        assert TOKEN not in text
    for account in setup.accounts.list_accounts("acme"):
        assert TOKEN not in repr(account) and TOKEN not in str(account.to_json())


def test_a_wrong_token_key_fails_before_any_request_naming_the_account_not_the_token(
    setup: Setup, engine: Any
) -> None:
    from jobctl.domain.errors import ConfigError, ExitCode

    item, account = setup.item("twitter"), setup.account("twitter")
    setup.accounts = AccountRepository(engine, (Fernet.generate_key().decode(),))  # not the one used
    with pytest.raises(ConfigError) as info:
        setup.publish(item, account)
    assert info.value.exit_code == ExitCode.CONFIG and account in info.value.message
    assert TOKEN not in info.value.message and "\n" not in info.value.message
    assert setup.fake.seen == []


def test_a_job_of_another_organization_cannot_publish_the_item(setup: Setup) -> None:
    """The job's organisation (an HTTP API token's) must own the item: acme's draft is not
    posted through acme's account by a job of beta, and beta learns nothing of it."""
    item, account = setup.item("twitter"), setup.account("twitter")
    with pytest.raises(PermanentJobError, match="organization 'beta' has no content item"):
        publish_item(
            setup.content, setup.accounts, setup.client, content_item_id=item, social_account_id=account,
            job_id="job-beta", now=now, organization_id="beta",
        )  # fmt: skip
    assert setup.fake.seen == [] and setup.fake.count() == 0
    stored = setup.content.get_content(item)
    assert stored is not None and stored.status == ContentStatus.DRAFT
    result = publish_item(
        setup.content, setup.accounts, setup.client, content_item_id=item, social_account_id=account,
        job_id="job-acme", now=now, organization_id="acme",
    )  # fmt: skip
    assert setup.fake.count("twitter") == 1 and not result.already_published
    with pytest.raises(PermanentJobError, match="has no content item"):  # published: still not beta's
        publish_item(
            setup.content, setup.accounts, setup.client, content_item_id=item, social_account_id=account,
            job_id="job-beta-2", now=now, organization_id="beta",
        )  # fmt: skip
