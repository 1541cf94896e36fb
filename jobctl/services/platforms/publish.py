"""Publish one content item through one social account, exactly once.

Idempotency (none of the five platforms takes an idempotency key on its create-post call):
1. a `publish_attempts` row is written *before* the first post is sent (`start_attempt`);
2. an execution that finds that row already there (a retry after a timeout, a crash, a
   re-enqueue) first lists the account's recent posts (`find_post`) and adopts the one with
   the item's text, instead of posting again;
3. only when no such post exists does it post.
So a post the platform accepted but whose answer was lost is found, not doubled. Two jobs for one
item (an operator enqueued it twice) do not race: the attempt row names the job holding it, and
another job defers until that claim (`lease_s`, renewed by every execution) lapses. (The window
left: a platform that accepts a post but lists it only later than our retry; the retry
intervals, a minute and more, are far longer than that.)

Errors: rate limit -> JobDeferredError(retry_after_s); token refused -> the account becomes
NEEDS_REAUTH and the job fails at once (PermanentJobError); content rejected -> the item becomes
FAILED with the platform's reason (kept on its publish attempt) and the job fails at once;
unavailable (5xx, timeout) -> a retryable JobProcessingError.

Media: with `media` (the item's image, already checked against the platform's rules), the
client's `publish_media` runs its documented flow (upload, then post; or a container). A retry
may upload the image again (an unattached upload expires on every platform), but it still looks
the post up first, so the post itself is never made twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobctl.domain.accounts import AccountStatus, SocialAccount, reauth_hint
from jobctl.domain.content import ContentRecord, ContentStatus
from jobctl.domain.errors import JobDeferredError, JobProcessingError, PermanentJobError
from jobctl.services.platforms.base import (
    ContentRejected,
    PlatformClient,
    PlatformUnavailable,
    RateLimited,
    TokenRejected,
)
from jobctl.services.platforms.media import MediaFile
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.content_repo import ContentRepository

ClientFactory = Callable[[SocialAccount], PlatformClient]


@dataclass(frozen=True)
class PublishResult:
    content_item_id: str
    social_account_id: str
    platform: str
    external_post_id: str
    published_at: datetime | None
    found_existing: bool  # a retry adopted the post an earlier attempt made (nothing was posted)
    already_published: bool  # the item was PUBLISHED before this job: no request at all

    def to_json(self) -> dict[str, Any]:
        return {
            "content_item_id": self.content_item_id, "social_account_id": self.social_account_id,
            "platform": self.platform, "external_post_id": self.external_post_id,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "found_existing": self.found_existing, "already_published": self.already_published,
        }  # fmt: skip


def _checked(
    item: ContentRecord | None, account: SocialAccount | None, ids: tuple[str, str]
) -> SocialAccount:
    item_id, account_id = ids
    if item is None:
        raise PermanentJobError(f"no content item {item_id!r} (see `jobctl content list`)")
    if account is None:
        raise PermanentJobError(f"no social account {account_id!r} (see `jobctl accounts list`)")
    if account.platform != item.platform:
        raise PermanentJobError(
            f"content item {item.id} is for {item.platform}, account {account.id} is on {account.platform}"
        )
    if account.organization_id != item.organization_id:
        raise PermanentJobError(
            f"content item {item.id} belongs to {item.organization_id}, account {account.id} to "
            f"{account.organization_id}"
        )
    if account.status != AccountStatus.CONNECTED:
        raise PermanentJobError(
            f"account {account.id} ({account.platform} {account.handle}) is {account.status.value}: "
            f"{reauth_hint(account.id)}"
        )
    return account


def publish_item(
    content: ContentRepository,
    accounts: AccountRepository,
    make_client: ClientFactory,
    *,
    content_item_id: str,
    social_account_id: str,
    job_id: str | None,
    now: Callable[[], datetime],
    image_url: str | None = None,
    lease_s: float = 90.0,
    media: MediaFile | None = None,
    organization_id: str | None = None,
) -> PublishResult:
    item = content.get_content(content_item_id)
    if item is not None and organization_id is not None and item.organization_id != organization_id:
        # A job of one organisation (an HTTP API token's) never publishes another's item, nor
        # learns that it exists: the same answer as an unknown id.
        raise PermanentJobError(f"organization {organization_id!r} has no content item {content_item_id!r}")
    account = accounts.get_account(social_account_id)
    if item is not None and item.status == ContentStatus.PUBLISHED and item.external_post_id:
        return PublishResult(
            item.id, social_account_id, item.platform, item.external_post_id, item.published_at, False, True
        )
    account = _checked(item, account, (content_item_id, social_account_id))
    assert item is not None
    attempt, first = accounts.start_attempt(item.id, account.id, job_id, now())
    if not first and not accounts.reclaim_attempt(item.id, job_id, now(), lease_s):
        raise JobDeferredError(
            f"job {attempt.job_id} is publishing content item {item.id} right now; "
            f"trying again once its claim ({lease_s:g}s) lapses",
            retry_after_s=lease_s,
        )
    client = make_client(account)
    try:
        found = None
        if not first:
            client.start_operation()
            found = client.find_post(item.body)
        client.start_operation()
        if found:
            post_id = found
        elif media is not None:
            post_id = client.publish_media(item.body, media)
        else:
            post_id = client.publish(item.body, image_url)
    except RateLimited as exc:
        raise JobDeferredError(exc.message, retry_after_s=exc.retry_after_s) from None
    except TokenRejected as exc:
        accounts.mark_needs_reauth(account.id, exc.message, now())
        raise PermanentJobError(
            f"{exc.message}; account {account.id} is now NEEDS_REAUTH: {reauth_hint(account.id)}"
        ) from None
    except ContentRejected as exc:
        accounts.mark_failed(item.id, exc.reason, now())
        raise PermanentJobError(f"{exc.message}; content item {item.id} is FAILED") from None
    except PlatformUnavailable as exc:
        raise JobProcessingError(f"{exc.message} (will retry; the retry looks the post up first)") from None
    finally:
        client.close()
    at = now()
    accounts.mark_published(item.id, post_id, at)
    return PublishResult(item.id, account.id, item.platform, post_id, at, found is not None, False)
