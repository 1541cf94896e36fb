"""One pydantic model per job type: the payload contracts (snake_case JSON).

Models forbid unknown fields so a typo is an error with its field path, not silently ignored.
URLs must be http(s) and must not carry credentials: secrets never live in job payloads.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from jobctl.domain.timeparse import parse_duration

Platform = Literal["twitter", "threads", "linkedin", "facebook", "instagram"]


def _split_csv(value: Any) -> Any:
    """Let the CLI's `platforms=twitter,linkedin` mean a list."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not contain credentials (user:password@); configure secrets instead")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
Identifier = Annotated[str, Field(min_length=1, max_length=200)]
IdList = Annotated[list[Identifier], BeforeValidator(_split_csv)]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class GenerateContentPayload(Payload):
    organization_id: Identifier
    topic: Annotated[str, Field(min_length=1, max_length=500)]
    platforms: Annotated[list[Platform], BeforeValidator(_split_csv), Field(min_length=1)]
    tone: str | None = None
    context_source_ids: IdList | None = None
    variations_per_platform: Annotated[int, Field(ge=1, le=5)] = 1


def _image_size(value: str) -> str:
    width, height = (int(n) for n in value.split("x"))
    if not (64 <= width <= 4096 and 64 <= height <= 4096):
        raise ValueError(f"{width}x{height}: width and height must each be 64 to 4096 pixels")
    return value


class GenerateImagePayload(Payload):
    organization_id: Identifier
    prompt: Annotated[str, Field(min_length=1, max_length=4000)]
    size: Annotated[str, Field(pattern=r"^\d{2,4}x\d{2,4}$"), AfterValidator(_image_size)] = "1024x1024"
    content_item_id: Identifier | None = None


def _exactly_one(model: BaseModel, a: str, b: str) -> None:
    has_a, has_b = getattr(model, a) is not None, getattr(model, b) is not None
    if has_a == has_b:
        raise ValueError(f"give exactly one of {a} or {b}")


class ScrapeWebsitePayload(Payload):
    organization_id: Identifier
    source_id: Identifier | None = None
    url: HttpUrl | None = None
    max_pages: Annotated[int, Field(ge=1, le=50)] = 1

    @model_validator(mode="after")
    def _one_target(self) -> ScrapeWebsitePayload:
        _exactly_one(self, "source_id", "url")
        return self


class SyncRssPayload(Payload):
    organization_id: Identifier
    source_id: Identifier | None = None
    feed_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SyncRssPayload:
        _exactly_one(self, "source_id", "feed_url")
        return self


class ProcessDocumentPayload(Payload):
    organization_id: Identifier
    source_id: Identifier | None = None  # a DOCUMENT source (its path or URL); else path or url
    path: Annotated[str, Field(min_length=1)] | None = None
    url: HttpUrl | None = None
    mime_type: Annotated[str, Field(pattern=r"^[\w.+-]+/[\w.+-]+$")] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> ProcessDocumentPayload:
        given = [n for n in ("source_id", "path", "url") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of source_id, path or url")
        return self


def _duration(value: str) -> str:
    if parse_duration(value).total_seconds() <= 0:
        raise ValueError("must be a positive duration")
    return value


class SyncAnalyticsPayload(Payload):
    """One account (`social_account_id`, which must belong to the organisation) or, without it,
    every CONNECTED account of the organisation. The posts collected are those published since
    `since` (a time) or within `lookback` (a duration such as `7d`, counted back from each run,
    so a schedule's payload keeps meaning "the last week"); neither: the worker's
    analytics.lookback_days. `max_posts` caps the posts per account (default: analytics.max_posts)."""

    organization_id: Identifier
    social_account_id: Identifier | None = None
    since: datetime | None = None
    lookback: Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_duration)] | None = None
    max_posts: Annotated[int, Field(ge=1, le=5000)] | None = None

    @model_validator(mode="after")
    def _one_window(self) -> SyncAnalyticsPayload:
        if self.since is not None and self.lookback is not None:
            raise ValueError("give at most one of since or lookback")
        return self


class RefreshTokenPayload(Payload):
    """One account (`social_account_id`; an `organization_id` beside it, which `--org` fills in,
    must be the account's), or, with `organization_id` alone, every CONNECTED account of that
    organisation whose token expires within the refresh window (the default hourly sweep).
    `force` refreshes even a token that is not near expiry (one account only)."""

    social_account_id: Identifier | None = None
    organization_id: Identifier | None = None
    force: bool = False

    @model_validator(mode="after")
    def _one_target(self) -> RefreshTokenPayload:
        if self.social_account_id is None and self.organization_id is None:
            raise ValueError("give social_account_id (one account) or organization_id (its due accounts)")
        if self.force and self.social_account_id is None:
            raise ValueError("force refreshes one account: give social_account_id")
        return self


class PublishContentPayload(Payload):
    content_item_id: Identifier
    social_account_id: Identifier


class PingPayload(Payload):
    """The operator's end-to-end check: optionally sleep, optionally fail the first N attempts."""

    sleep_s: Annotated[float, Field(ge=0, le=300)] = 0
    fail_attempts: Annotated[int, Field(ge=0, le=100)] = 0
    organization_id: Identifier | None = None
    # Recovery drills (operators only): kill the worker process on the first N attempts, or
    # block for hang_s seconds without showing progress (a hung job) on the first N attempts.
    crash_attempts: Annotated[int, Field(ge=0, le=100)] = 0
    hang_s: Annotated[float, Field(ge=0, le=3600)] = 0
    hang_attempts: Annotated[int, Field(ge=0, le=100)] = 0
    # Deferral drill: the first N attempts ask to wait defer_s seconds (JobDeferredError, as a
    # rate-limited job does), which spends no retry.
    defer_attempts: Annotated[int, Field(ge=0, le=100)] = 0
    defer_s: Annotated[float, Field(ge=0, le=3600)] = 2
    # Progress drills: split the wait (sleep_s, or hang_s on a hanging attempt) into N steps with
    # ctx.progress after each, and log N lines (ctx.log) before it, as a chatty job would.
    progress_steps: Annotated[int, Field(ge=0, le=100_000)] = 0
    log_lines: Annotated[int, Field(ge=0, le=1_000_000)] = 0


_LOC_SEP = re.compile(r"\.?__root__")


def error_path(loc: tuple[int | str, ...]) -> str:
    """pydantic's loc tuple as 'platforms[0]' / 'topic'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return _LOC_SEP.sub("", out)
