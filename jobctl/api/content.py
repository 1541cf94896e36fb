"""Organisations and generated content for the CLI and library users: orgs add, list, show, set;
content list and show (each body with its length as its platform counts it).

Jobs for an organisation without a row still run, with Organization.defaults(); `orgs add`
makes the brand settings (voice, tone, colours, hashtag rules, limits) apply.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from jobctl.api.jobs import JobctlAPI
from jobctl.domain.content import (
    ContentInputError,
    ContentItemNotFoundError,
    ContentRecord,
    ContentStatus,
    ImageNotFoundError,
    ImageRecord,
    Organization,
    OrganizationNotFoundError,
    check_limits,
    check_org_id,
    check_timezone,
    normalise_colour,
    normalise_hashtag,
)
from jobctl.domain.platform_rules import RULES
from jobctl.domain.timeparse import utcnow
from jobctl.store.content_repo import ContentRepository


@dataclass(frozen=True)
class OrgChanges:
    """The brand fields to set (None: leave as is). Lists replace the whole list."""

    name: str | None = None
    brand_voice: str | None = None
    tone: str | None = None
    brand_colors: list[str] | None = None
    hashtags_always: list[str] | None = None
    hashtags_never: list[str] | None = None
    limits: dict[str, int | None] | None = None  # a None value removes that limit
    timezone: str | None = None  # "" removes it (UTC)


def _merged_limits(current: dict[str, int], changes: dict[str, int | None]) -> dict[str, int]:
    """The limits with `changes` applied (a None value removes that limit), checked."""
    merged: dict[str, Any] = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return check_limits(merged)


def counted(record: ContentRecord) -> dict[str, Any]:
    """A content item's JSON with its length as its platform counts it, and that limit."""
    rule = RULES[record.platform]
    return {**record.to_json(), "characters": rule.count(record.body), "limit": rule.max_chars}


@dataclass
class ContentAPI:
    api: JobctlAPI

    @cached_property
    def repo(self) -> ContentRepository:
        with self.api.backends.errors():
            return ContentRepository(self.api.backends.engine)

    # -- organisations -------------------------------------------------------------------------

    def add_org(self, organization_id: str, changes: OrgChanges) -> tuple[Organization, bool]:
        """Create the organisation (idempotent: an existing one is returned unchanged)."""
        org_id = check_org_id(organization_id)
        org = self._apply(Organization(id=org_id, name=changes.name or org_id), changes)
        with self.api.backends.errors():
            return self.repo.add_org(org, utcnow())

    def get_org(self, organization_id: str) -> Organization:
        with self.api.backends.errors():
            org = self.repo.get_org(organization_id)
        if org is None:
            raise OrganizationNotFoundError(organization_id)
        return org

    def list_orgs(self) -> list[Organization]:
        with self.api.backends.errors():
            return self.repo.list_orgs()

    def set_org(self, organization_id: str, changes: OrgChanges) -> Organization:
        org = self._apply(self.get_org(organization_id), changes)
        with self.api.backends.errors():
            updated = self.repo.update_org(org, utcnow())
        if updated is None:
            raise OrganizationNotFoundError(organization_id)
        return updated

    @staticmethod
    def _apply(org: Organization, c: OrgChanges) -> Organization:
        values: dict[str, Any] = {}
        if c.name is not None:
            if not c.name.strip():
                raise ContentInputError("--name must not be empty")
            values["name"] = c.name.strip()[:200]
        if c.brand_voice is not None:
            values["brand_voice"] = c.brand_voice.strip() or None
        if c.tone is not None:
            if not c.tone.strip():
                raise ContentInputError("--tone must not be empty")
            values["tone"] = c.tone.strip()[:200]
        if c.brand_colors is not None:
            values["brand_colors"] = tuple(dict.fromkeys(normalise_colour(v) for v in c.brand_colors))
        if c.hashtags_always is not None:
            values["hashtags_always"] = tuple(dict.fromkeys(normalise_hashtag(v) for v in c.hashtags_always))
        if c.hashtags_never is not None:
            values["hashtags_never"] = tuple(dict.fromkeys(normalise_hashtag(v) for v in c.hashtags_never))
        if c.timezone is not None:
            values["timezone"] = check_timezone(c.timezone) if c.timezone.strip() else None
        if c.limits is not None:
            values["limits"] = _merged_limits(org.limits, c.limits)
        return replace(org, **values)

    # -- content items -------------------------------------------------------------------------

    def list_content(
        self,
        organization_id: str | None = None,
        platform: str | None = None,
        status: str | None = None,
        job_id: str | None = None,
        limit: int = 50,
    ) -> list[ContentRecord]:
        if platform is not None and platform not in RULES:
            raise ContentInputError(f"unknown platform {platform!r} (use {', '.join(RULES)})")
        wanted = ContentStatus.parse(status) if status else None
        with self.api.backends.errors():
            return self.repo.list_content(
                organization_id=organization_id, platform=platform, status=wanted, job_id=job_id, limit=limit
            )

    def list_images(self, organization_id: str | None = None, limit: int = 50) -> list[ImageRecord]:
        with self.api.backends.errors():
            return self.repo.list_images(organization_id, limit)

    def get_image(self, image_id: str) -> ImageRecord:
        with self.api.backends.errors():
            record = self.repo.get_image(image_id)
        if record is None:
            raise ImageNotFoundError(image_id)
        return record

    def get_content(self, item_id: str) -> ContentRecord:
        with self.api.backends.errors():
            record = self.repo.get_content(item_id)
        if record is None:
            raise ContentItemNotFoundError(item_id)
        return record
