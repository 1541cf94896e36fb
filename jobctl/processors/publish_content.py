"""`publish-content`: a content item -> its social account's platform client -> PUBLISHED with
the platform's post id (see jobctl.services.platforms.publish for idempotency and errors).

The platform's base URL and the total deadline come from the worker's settings
(`[platforms]`, JOBCTL_*_API_URL); the account's tokens are decrypted by the repository with
JOBCTL_TOKEN_KEYS (without it the job fails with a ConfigError saying how to set one). An image
linked to the item is sent as {JOBCTL_PUBLISH_MEDIA_URL}/{file name} when that public base URL
is set.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.accounts import SocialAccount
from jobctl.domain.payloads import PublishContentPayload
from jobctl.processors import content_support as support
from jobctl.processors.base import JobContext
from jobctl.services.platforms import ClientSettings, Credentials, PlatformClient, client_class
from jobctl.services.platforms.publish import publish_item
from jobctl.services.platforms.ratelimit import RateGate
from jobctl.settings import Settings
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.content_repo import ContentRepository

_lock = threading.Lock()
_engines: dict[str, Any] = {}
_repos: dict[tuple[str, tuple[str, ...]], AccountRepository] = {}


def accounts_store() -> AccountRepository:
    """The repository for the current settings: one engine per database URL, and the token keys
    of the settings (JOBCTL_TOKEN_KEYS, [accounts] token_keys) read on each job, so an edited
    config file's new keys apply without a worker restart."""
    from jobctl.store.engine import create_store_engine

    settings = support.settings()
    url = settings.effective_database_url
    with _lock:
        if url not in _engines:
            _engines[url] = create_store_engine(url, pool_size=5)
        key = (url, settings.token_keys)
        if key not in _repos:
            _repos[key] = AccountRepository(_engines[url], settings.token_keys)
        return _repos[key]


def client_for(settings: Settings, account: SocialAccount, gate: RateGate | None = None) -> PlatformClient:
    """The account's client; with `gate` (the worker's ctx.rate_gate) it shares the account's
    rate-limit state with every other job and worker."""
    cls = client_class(account.platform)
    client_settings = ClientSettings(
        settings.platform_urls[account.platform], settings.publish_timeout_s, rate_gate=gate
    )
    return cls(client_settings, Credentials(account.external_id, account.access_token))


def image_url_for(settings: Settings, content: ContentRepository, item_id: str) -> str | None:
    item = content.get_content(item_id)
    if settings.publish_media_url is None or item is None:
        return None
    for image in content.list_images(item.organization_id, limit=500):
        if image.content_item_id == item_id:
            return f"{settings.publish_media_url.rstrip('/')}/{Path(image.path).name}"
    return None


class PublishContentProcessor:
    job_type: ClassVar[str] = "publish-content"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, PublishContentPayload)
        ctx.check_cancelled()
        settings = support.settings()
        content = support.store()
        result = publish_item(
            content, accounts_store(), lambda account: client_for(settings, account, ctx.rate_gate),
            content_item_id=payload.content_item_id, social_account_id=payload.social_account_id,
            job_id=ctx.job_id, now=support.now,
            image_url=image_url_for(settings, content, payload.content_item_id),
            # a lookup and a publish, each within the deadline, and a margin
            lease_s=3 * settings.publish_timeout_s,
        )  # fmt: skip
        return result.to_json()
