"""`publish-content`: a content item -> its social account's platform client -> PUBLISHED with
the platform's post id (see jobctl.services.platforms.publish for idempotency and errors).

The platform's base URL and the total deadline come from the worker's settings
(`[platforms]`, JOBCTL_*_API_URL); the account's tokens are decrypted by the repository with
JOBCTL_TOKEN_KEYS (without it the job fails with a ConfigError saying how to set one).

Media: the newest image generated for the item (`generate-image content_item_id=...`) goes with
the post, through the platform's own media flow (jobctl.services.platforms.media). Its public
URL, for Instagram and Threads, which fetch images themselves, is
{JOBCTL_PUBLISH_MEDIA_URL}/{path under the data dir's images/}; without that setting those two
fail at once with a payload error that says so, as does an image the platform would refuse
(format, bytes, pixels, aspect ratio), before anything is sent or recorded.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import BaseModel

from jobctl.domain.accounts import SocialAccount
from jobctl.domain.content import ContentStatus
from jobctl.domain.errors import PayloadValidationError
from jobctl.domain.payloads import PublishContentPayload
from jobctl.processors import content_support as support
from jobctl.processors.base import JobContext
from jobctl.services.platforms import ClientSettings, Credentials, PlatformClient, client_class
from jobctl.services.platforms.media import MediaFile, MediaFileError, as_jpeg, load_media, media_problems
from jobctl.services.platforms.publish import publish_item
from jobctl.services.platforms.ratelimit import RateGate
from jobctl.settings import Settings
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.content_repo import ContentRepository

JOB_TYPE = "publish-content"
_lock = threading.Lock()
_repos: dict[tuple[str, tuple[str, ...]], AccountRepository] = {}


def accounts_store() -> AccountRepository:
    """The repository for the current settings: one engine per database URL, and the token keys
    of the settings (JOBCTL_TOKEN_KEYS, [accounts] token_keys) read on each job, so an edited
    config file's new keys apply without a worker restart."""
    from jobctl.store.engine import shared_engine

    settings = support.settings()
    url = settings.effective_database_url
    with _lock:
        key = (url, settings.token_keys)
        if key not in _repos:
            _repos[key] = AccountRepository(shared_engine(url, pool_size=5), settings.token_keys)
        return _repos[key]


def client_for(settings: Settings, account: SocialAccount, gate: RateGate | None = None) -> PlatformClient:
    """The account's client; with `gate` (the worker's ctx.rate_gate) it shares the account's
    rate-limit state with every other job and worker."""
    cls = client_class(account.platform)
    client_settings = ClientSettings(
        settings.platform_urls[account.platform], settings.publish_timeout_s, rate_gate=gate
    )
    return cls(client_settings, Credentials(account.external_id, account.access_token))


def public_url_for(settings: Settings, path: Path) -> str | None:
    """The image's URL under JOBCTL_PUBLISH_MEDIA_URL, which serves the data dir's images/."""
    if settings.publish_media_url is None:
        return None
    images = (settings.data_dir / "images").resolve()
    try:
        relative = path.resolve().relative_to(images).as_posix()
    except ValueError:
        relative = path.name  # an image stored elsewhere: served by name
    return f"{settings.publish_media_url.rstrip('/')}/{quote(relative)}"


def media_for(settings: Settings, content: ContentRepository, item_id: str) -> MediaFile | None:
    """The item's image, ready for its platform (Instagram: a JPEG copy), or None when it has
    none; PayloadValidationError when the platform would refuse it or cannot be given it."""
    item = content.get_content(item_id)
    if item is None or item.status == ContentStatus.PUBLISHED:
        return None  # nothing to attach: publish_item reports the missing or published item
    image = content.latest_image_for(item_id)
    if image is None:
        return None
    path = Path(image.path)
    try:
        media = load_media(path, public_url=public_url_for(settings, path), alt_text=image.prompt)
        if item.platform == "instagram":
            media = as_jpeg(media)
    except MediaFileError as exc:
        raise PayloadValidationError(JOB_TYPE, [("image", f"image {image.id}: {exc}")]) from None
    problems = media_problems(item.platform, media)
    if problems:
        raise PayloadValidationError(JOB_TYPE, [("image", f"image {image.id}: {p}") for p in problems])
    return media


class PublishContentProcessor:
    job_type: ClassVar[str] = JOB_TYPE

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, PublishContentPayload)
        ctx.check_cancelled()
        settings = support.settings()
        content = support.store()
        result = publish_item(
            content, accounts_store(), lambda account: client_for(settings, account, ctx.rate_gate),
            content_item_id=payload.content_item_id, social_account_id=payload.social_account_id,
            job_id=ctx.job_id, now=support.now, organization_id=ctx.organization_id,
            media=media_for(settings, content, payload.content_item_id),
            # a lookup and a publish, each within the deadline, and a margin
            lease_s=3 * settings.publish_timeout_s,
        )  # fmt: skip
        return result.to_json()
