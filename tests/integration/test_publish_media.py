"""publish-content with the item's image, against the fake platforms on 127.0.0.1: each platform
gets the image through its documented media flow (X / LinkedIn / Facebook: our bytes uploaded;
Instagram / Threads: a public URL they fetch) and the post carries it; a first attempt that
timed out after the platform accepted the post is found on retry, so the post is made once (an
extra upload is allowed); Instagram and Threads without a public media URL fail at once with a
payload error that says what to set; a container that fails processing fails the item; the
token is in no URL, error or log line."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from platform_fake import FakePlatforms, Scripted, serve, serve_files

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.domain.content import ContentStatus, NewContent
from jobctl.domain.errors import JobProcessingError, PayloadValidationError, PermanentJobError
from jobctl.processors.publish_content import media_for
from jobctl.services.content.images import generate_image
from jobctl.services.platforms import ClientSettings, Credentials, client_class
from jobctl.services.platforms.publish import PublishResult, publish_item
from jobctl.settings import Settings, load_settings
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.content_repo import ContentRepository

TOKEN = "tok-MEDIA-SECRET-77aa55"
EXTERNAL = {
    "twitter": "2244994945", "linkedin": "urn:li:organization:5515715", "facebook": "1234567890",
    "instagram": "17841400008460056", "threads": "25025320",
}  # fmt: skip
PLATFORMS = list(EXTERNAL)
BODY = "Durable job records keep operators informed https://acme.test/q #Queues"


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with serve({TOKEN}) as server:
        yield server


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "data" / "images").mkdir(parents=True)
    return tmp_path / "data"


@pytest.fixture
def media_url(data_dir: Path) -> Iterator[str]:
    """The data dir's images/ on a "public" server, as JOBCTL_PUBLISH_MEDIA_URL documents."""
    with serve_files(data_dir / "images") as base:
        yield base


class Setup:
    def __init__(self, engine: Any, fake: FakePlatforms, data_dir: Path, media_url: str) -> None:
        self.content = ContentRepository(engine)
        self.accounts = AccountRepository(engine, (Fernet.generate_key().decode(),))
        self.fake = fake
        self.data_dir = data_dir
        self.timeout_s = 5.0
        self.settings = self.settings_with(media_url)

    def settings_with(self, media_url: str | None) -> Settings:
        env = {"JOBCTL_DATA_DIR": str(self.data_dir), "HOME": str(self.data_dir)}
        if media_url is not None:
            env["JOBCTL_PUBLISH_MEDIA_URL"] = media_url
        return load_settings(env=env)

    def item_with_image(self, platform: str, size: str = "1080x1080") -> str:
        new = NewContent(platform, 0, BODY, ("#Queues",), (), "offline", "extractive-v1")
        item = self.content.replace_job_content(
            "acme", f"gen-{platform}-{time.monotonic_ns()}", "q", [new], now()
        )
        generate_image(
            self.content, "acme", "Durable queues for busy teams", size, item[0].id,
            images_dir=self.data_dir / "images", now=now,
        )  # fmt: skip
        return item[0].id

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

    def publish(self, item_id: str, account_id: str, settings: Settings | None = None) -> PublishResult:
        media = media_for(settings or self.settings, self.content, item_id)  # as the processor does
        return publish_item(
            self.content, self.accounts, self.client, content_item_id=item_id, social_account_id=account_id,
            job_id="job-1", now=now, media=media,
        )  # fmt: skip


@pytest.fixture
def setup(engine: Any, fake: FakePlatforms, data_dir: Path, media_url: str) -> Setup:
    return Setup(engine, fake, data_dir, media_url)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_posts_once_with_its_image_attached(setup: Setup, platform: str) -> None:
    item, account = setup.item_with_image(platform), setup.account(platform)
    image = setup.content.latest_image_for(item)
    assert image is not None
    result = setup.publish(item, account)
    assert setup.fake.count() == 1 and setup.fake.count(platform) == 1
    post = setup.fake.posts[0]
    assert len(post["media"]) == 1, post  # the post carries exactly the one upload
    upload = setup.fake.upload(post["media"][0])
    sent = Path(image.path)
    if platform == "instagram":  # JPEG only: a JPEG copy next to the PNG, fetched by URL
        sent = sent.with_suffix(".jpg")
        assert upload["mime"] == "image/jpeg" and upload["how"] == "url"
    else:
        assert upload["mime"] == "image/png"
        assert upload["how"] == ("url" if platform == "threads" else "bytes")
    assert upload["sha256"] == _sha(sent)  # the very file, byte for byte
    if upload["how"] == "url":
        assert upload["url"].startswith(str(setup.settings.publish_media_url)) and "/acme/" in upload["url"]
    if platform == "twitter":
        assert upload["category"] == "tweet_image"
    if platform == "linkedin":
        assert upload["content_type"] == "image/png" and upload["urn"].startswith("urn:li:image:")
    stored = setup.content.get_content(item)
    assert stored is not None and stored.status == ContentStatus.PUBLISHED
    assert result.external_post_id == stored.external_post_id and result.external_post_id.endswith(post["id"])
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in setup.fake.seen)
    assert all(TOKEN not in r["query"] for r in setup.fake.seen)
    seen = len(setup.fake.seen)  # published: a re-run sends nothing, whatever the media settings say
    assert setup.publish(item, account, settings=setup.settings_with(None)).already_published
    assert len(setup.fake.seen) == seen and setup.fake.count() == 1


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_timed_out_first_attempt_still_posts_exactly_once_with_the_image(
    setup: Setup, platform: str
) -> None:
    item, account = setup.item_with_image(platform), setup.account(platform)
    setup.timeout_s = 1.0
    setup.fake.script.append(Scripted(hang_s=3.0))  # the post is accepted, the answer comes too late
    with pytest.raises(JobProcessingError) as info:
        setup.publish(item, account)
    assert info.value.retryable and setup.fake.count(platform) == 1
    uploads = len(setup.fake.uploads)
    result = setup.publish(item, account)  # the retry looks the post up before anything else
    assert result.found_existing and setup.fake.count(platform) == 1
    assert len(setup.fake.uploads) == uploads  # found: not even uploaded again
    assert len(setup.fake.posts[0]["media"]) == 1
    stored = setup.content.get_content(item)
    assert stored is not None and stored.status == ContentStatus.PUBLISHED
    assert stored.external_post_id is not None and stored.external_post_id.endswith(setup.fake.posts[0]["id"])


def test_a_retry_after_a_failed_post_uploads_again_but_posts_once(setup: Setup) -> None:
    item, account = setup.item_with_image("twitter"), setup.account("twitter")
    setup.fake.script.append(
        Scripted(status=503, body={"title": "Service Unavailable", "detail": "over capacity"})
    )
    with pytest.raises(JobProcessingError, match="HTTP 503"):
        setup.publish(item, account)
    assert setup.fake.count() == 0 and len(setup.fake.uploads) == 1  # uploaded, post refused
    setup.publish(item, account)
    assert setup.fake.count() == 1 and len(setup.fake.uploads) == 2
    assert setup.fake.posts[0]["media"] == [setup.fake.uploads[1]["id"]]


@pytest.mark.parametrize("platform", ["instagram", "threads"])
def test_instagram_and_threads_without_a_public_media_url_fail_clearly(setup: Setup, platform: str) -> None:
    item, account = setup.item_with_image(platform), setup.account(platform)
    with pytest.raises(PayloadValidationError) as info:
        setup.publish(item, account, settings=setup.settings_with(None))
    message = str(info.value)
    assert "publish-content" in message and "public URL" in message and "JOBCTL_PUBLISH_MEDIA_URL" in message
    assert setup.fake.seen == [] and setup.accounts.get_attempt(item) is None  # nothing sent or claimed
    stored = setup.content.get_content(item)
    assert stored is not None and stored.status == ContentStatus.DRAFT  # fix the setting, publish again


def test_an_image_the_platform_refuses_is_a_payload_error_before_any_request(setup: Setup) -> None:
    item, account = setup.item_with_image("instagram", size="1600x400"), setup.account("instagram")  # 4:1
    with pytest.raises(PayloadValidationError, match=r"aspect 4\.00.*instagram takes aspect ratios"):
        setup.publish(item, account)
    image = setup.content.latest_image_for(item)
    assert image is not None
    Path(image.path).write_bytes(b"GIF89a" + b"\0" * 64)  # not a PNG or JPEG any more
    with pytest.raises(PayloadValidationError, match="not a PNG or JPEG"):
        setup.publish(item, account)
    assert setup.fake.count("instagram") == 0


def test_a_container_still_processing_is_waited_for_and_one_that_fails_fails_the_item(setup: Setup) -> None:
    item, account = setup.item_with_image("threads"), setup.account("threads")
    setup.fake.container_states += ["IN_PROGRESS"]  # then FINISHED
    setup.publish(item, account)
    assert setup.fake.count("threads") == 1 and setup.fake.container_states == []
    ig_item, ig_account = setup.item_with_image("instagram"), setup.account("instagram")
    setup.fake.container_states += ["ERROR"]
    with pytest.raises(PermanentJobError, match="media container ERROR"):
        setup.publish(ig_item, ig_account)
    stored = setup.content.get_content(ig_item)
    assert stored is not None and stored.status == ContentStatus.FAILED and setup.fake.count("instagram") == 0


def test_no_token_in_any_url_error_or_log_line(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    for platform in PLATFORMS:
        setup.publish(setup.item_with_image(platform), setup.account(platform))
    setup.fake.tokens.clear()  # revoked: the upload itself is refused
    for platform in ("twitter", "linkedin"):
        item = setup.item_with_image(platform)
        with pytest.raises(PermanentJobError) as info:
            setup.publish(item, f"acc_{platform}")
        messages.append(str(info.value))
    assert all("NEEDS_REAUTH" in m for m in messages)
    for text in [*messages, caplog.text, *(r["query"] for r in setup.fake.seen)]:
        assert TOKEN not in text
