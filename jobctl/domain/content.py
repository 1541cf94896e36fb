"""The content factory's records: organisations (brand settings), content items, image assets,
and the result of a generate-content job.

Pure (no I/O): the store maps rows to these records, the services and the CLI read them.

Unknown organisations: a job for an organisation that has no row still runs, with
`Organization.defaults(id)`: its name is its id, no brand voice, a neutral tone, no hashtag
rules, the default limits. The result says `organization_known: false` so an operator sees
that the brand settings were not applied (`jobctl orgs add` creates them).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from jobctl.domain.errors import ExitCode, JobctlError

DEFAULT_TONE = "neutral"
LIMIT_KEYS = ("max_hashtags", "twitter", "threads", "linkedin", "instagram", "facebook")
"""Keys of Organization.limits: a cap on hashtags per post, and per platform a maximum length
(in the platform's own count) lower than the platform's rule."""

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_HASHTAG = re.compile(r"^#?\w{1,100}$")
_ORG_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


class ContentStatus(StrEnum):
    DRAFT = "DRAFT"
    SCHEDULED = "SCHEDULED"
    PUBLISHED = "PUBLISHED"
    FAILED = "FAILED"

    @classmethod
    def parse(cls, text: str) -> ContentStatus:
        try:
            return cls(text.strip().upper())
        except ValueError:
            known = ", ".join(s.value.lower() for s in cls)
            raise ContentInputError(f"unknown content status {text!r} (use {known})") from None


class ContentInputError(JobctlError):
    title = "invalid input"
    exit_code = ExitCode.INVALID_INPUT


class OrganizationNotFoundError(JobctlError):
    title = "organization not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, organization_id: str) -> None:
        self.organization_id = organization_id
        super().__init__(f"no organization with id {organization_id!r} (add it with `jobctl orgs add`)")


class ContentItemNotFoundError(JobctlError):
    title = "content item not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        super().__init__(f"no content item with id {item_id!r}")


class ImageNotFoundError(JobctlError):
    title = "image not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, image_id: str) -> None:
        self.image_id = image_id
        super().__init__(f"no image with id {image_id!r}")


def new_content_id() -> str:
    return f"cnt_{uuid.uuid4().hex[:20]}"


def new_image_id() -> str:
    return f"img_{uuid.uuid4().hex[:20]}"


def check_org_id(value: str) -> str:
    value = value.strip()
    if not _ORG_ID.fullmatch(value):
        raise ContentInputError(
            f"invalid organization id {value!r}: 1-200 characters from A-Z a-z 0-9 _ . - (starting alnum)"
        )
    return value


def normalise_colour(value: str) -> str:
    value = value.strip()
    if not _COLOUR.fullmatch(value):
        raise ContentInputError(f"brand colour {value!r} is not #RRGGBB")
    return value.lower()


def normalise_hashtag(value: str) -> str:
    """'#Queues' / 'queues' -> '#Queues' (letters, digits, underscore: what the platforms link)."""
    value = value.strip()
    if not _HASHTAG.fullmatch(value):
        raise ContentInputError(f"hashtag {value!r} must be letters, digits or _ (an optional leading #)")
    return "#" + value.lstrip("#")


def check_timezone(value: str) -> str:
    """An IANA timezone name ('Europe/Paris'), as zoneinfo knows it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = value.strip()
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ContentInputError(f"unknown timezone {value!r} (an IANA name such as Europe/Paris)") from None
    return value


def check_limits(limits: dict[str, Any]) -> dict[str, int]:
    """Validate Organization.limits: known keys, positive integers."""
    out: dict[str, int] = {}
    for key, value in limits.items():
        if key not in LIMIT_KEYS:
            raise ContentInputError(f"unknown limit {key!r} (known: {', '.join(LIMIT_KEYS)})")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ContentInputError(f"limit {key} must be a whole number >= 0, got {value!r}")
        out[key] = value
    return out


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    brand_voice: str | None = None
    tone: str = DEFAULT_TONE
    brand_colors: tuple[str, ...] = ()
    hashtags_always: tuple[str, ...] = ()
    hashtags_never: tuple[str, ...] = ()
    limits: dict[str, int] = field(default_factory=dict)
    timezone: str | None = None  # IANA name; brand learning reads posting times in it (None: UTC)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    known: bool = True  # False: not in the table, these are the defaults

    @classmethod
    def defaults(cls, organization_id: str) -> Organization:
        """What a job for an organisation without a row runs with (see the module docstring)."""
        return cls(id=organization_id, name=organization_id, known=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "brand_voice": self.brand_voice, "tone": self.tone,
            "brand_colors": list(self.brand_colors), "hashtags_always": list(self.hashtags_always),
            "hashtags_never": list(self.hashtags_never), "limits": dict(self.limits),
            "timezone": self.timezone, "known": self.known,
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
        }  # fmt: skip


@dataclass(frozen=True)
class NewContent:
    """A variation as a provider produced it and the platform rules accepted it."""

    platform: str
    variation: int
    body: str
    hashtags: tuple[str, ...]
    context_item_ids: tuple[str, ...]
    provider: str
    model: str


@dataclass(frozen=True)
class ContentRecord:
    id: str
    organization_id: str
    job_id: str | None
    topic: str
    platform: str
    variation: int
    body: str
    hashtags: tuple[str, ...]
    context_item_ids: tuple[str, ...]
    status: ContentStatus
    provider: str
    model: str
    external_post_id: str | None
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "organization_id": self.organization_id, "job_id": self.job_id,
            "topic": self.topic, "platform": self.platform, "variation": self.variation,
            "body": self.body, "hashtags": list(self.hashtags),
            "context_item_ids": list(self.context_item_ids), "status": self.status.value,
            "provider": self.provider, "model": self.model,
            "external_post_id": self.external_post_id, "published_at": _iso(self.published_at),
            "created_at": _iso(self.created_at), "updated_at": _iso(self.updated_at),
        }  # fmt: skip


@dataclass(frozen=True)
class ImageRecord:
    id: str
    organization_id: str
    content_item_id: str | None
    prompt: str
    path: str
    width: int
    height: int
    provider: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "organization_id": self.organization_id,
            "content_item_id": self.content_item_id, "prompt": self.prompt, "path": self.path,
            "width": self.width, "height": self.height, "provider": self.provider,
            "created_at": _iso(self.created_at),
        }  # fmt: skip


@dataclass(frozen=True)
class GeneratedItem:
    """One stored variation as the job result reports it."""

    id: str
    platform: str
    variation: int
    characters: int  # as the platform counts them (X: twitter-text's weighted length)
    limit: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "platform": self.platform, "variation": self.variation,
            "characters": self.characters, "limit": self.limit,
        }  # fmt: skip


@dataclass(frozen=True)
class ContentGenerationResult:
    """The result of a generate-content job (stored as its JSON in the job row)."""

    organization_id: str
    organization_known: bool
    topic: str
    provider: str
    model: str
    items: tuple[GeneratedItem, ...]
    context_items_used: tuple[str, ...]
    learnings: dict[str, Any] | None = None  # the brand learning used (None: the org has none)

    @property
    def content_item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    def to_json(self) -> dict[str, Any]:
        return {
            "organization_id": self.organization_id,
            "organization_known": self.organization_known,
            "topic": self.topic,
            "provider": self.provider,
            "model": self.model,
            "content_item_ids": self.content_item_ids,
            "items": [i.to_json() for i in self.items],
            "context_items_used": list(self.context_items_used),
            "learnings": self.learnings,
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
