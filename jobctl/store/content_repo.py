"""ContentRepository: organisations, the content items generated for them, their image assets,
and the context items a generation ranks.

- `add_org` is idempotent per id (INSERT ... ON CONFLICT DO NOTHING): adding twice finds the first.
- `replace_job_content` stores one job's variations in one transaction, replacing that job's
  earlier DRAFTs: a retried generate-content job never leaves two sets behind.
- `context_items_for` reads the organisation's context items (newest first, optionally only
  from some sources) for ranking; it reads the context engine's table, never writes it.

Every method turns database outages into DatabaseUnavailableError (masked URL).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, Row

from jobctl.domain.content import (
    ContentRecord,
    ContentStatus,
    ImageRecord,
    NewContent,
    Organization,
    new_content_id,
    new_image_id,
)
from jobctl.domain.context import ItemRecord
from jobctl.store.content_tables import CONTENT, IMAGES, ORGS
from jobctl.store.context_repo import _item
from jobctl.store.context_tables import ITEMS
from jobctl.store.db_errors import database_errors, translated
from jobctl.store.engine import SQLITE_IMMEDIATE, autocommit, engine_label
from jobctl.store.record_rows import utc

P = ParamSpec("P")
R = TypeVar("R")
co, cc, ci, im = ORGS.c, CONTENT.c, ITEMS.c, IMAGES.c
ORG_FIELDS = (
    "name", "brand_voice", "tone", "brand_colors", "hashtags_always", "hashtags_never", "limits", "timezone",
)  # fmt: skip



def _org(row: Row[Any]) -> Organization:
    m = row._mapping
    return Organization(
        id=m["id"],
        name=m["name"],
        brand_voice=m["brand_voice"],
        tone=m["tone"],
        brand_colors=tuple(m["brand_colors"] or ()),
        hashtags_always=tuple(m["hashtags_always"] or ()),
        hashtags_never=tuple(m["hashtags_never"] or ()),
        limits=dict(m["limits"] or {}),
        timezone=m["timezone"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _org_values(org: Organization) -> dict[str, Any]:
    return {
        "name": org.name,
        "brand_voice": org.brand_voice,
        "tone": org.tone,
        "brand_colors": list(org.brand_colors),
        "hashtags_always": list(org.hashtags_always),
        "hashtags_never": list(org.hashtags_never),
        "limits": dict(org.limits),
        "timezone": org.timezone,
    }


def _content(row: Row[Any]) -> ContentRecord:
    m = row._mapping
    return ContentRecord(
        id=m["id"],
        organization_id=m["organization_id"],
        job_id=m["job_id"],
        topic=m["topic"],
        platform=m["platform"],
        variation=m["variation"],
        body=m["body"],
        hashtags=tuple(m["hashtags"] or ()),
        context_item_ids=tuple(m["context_item_ids"] or ()),
        status=ContentStatus(m["status"]),
        provider=m["provider"],
        model=m["model"],
        external_post_id=m["external_post_id"],
        published_at=m["published_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _image(row: Row[Any]) -> ImageRecord:
    m = row._mapping
    return ImageRecord(
        id=m["id"],
        organization_id=m["organization_id"],
        content_item_id=m["content_item_id"],
        prompt=m["prompt"],
        path=m["path"],
        width=m["width"],
        height=m["height"],
        provider=m["provider"],
        created_at=m["created_at"],
    )


class ContentRepository:
    """The content tables over one Engine (thread-safe: each call checks out a connection)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._label = engine_label(engine)
        self._db_errors = database_errors()
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @property
    def engine(self) -> Engine:
        return self._engine

    def _transaction(self) -> Any:
        return self._engine.connect().execution_options(**{SQLITE_IMMEDIATE: True})

    # -- organisations -------------------------------------------------------------------------

    @translated
    def add_org(self, org: Organization, now: datetime) -> tuple[Organization, bool]:
        """The organisation with `org.id`, created from `org` if new; (record, created)."""
        now = utc(now)
        values = {"id": org.id, **_org_values(org), "created_at": now, "updated_at": now}
        stmt = self._insert(ORGS).values(values).on_conflict_do_nothing().returning(co.id)
        with self._auto.connect() as conn:
            created = conn.execute(stmt).first() is not None
        record = self.get_org(org.id)
        assert record is not None
        return record, created

    @translated
    def get_org(self, organization_id: str) -> Organization | None:
        with self._auto.connect() as conn:
            row = conn.execute(select(ORGS).where(co.id == organization_id)).first()
        return _org(row) if row is not None else None

    @translated
    def list_orgs(self) -> builtins.list[Organization]:
        with self._auto.connect() as conn:
            return [_org(r) for r in conn.execute(select(ORGS).order_by(co.id))]

    @translated
    def update_org(self, org: Organization, now: datetime) -> Organization | None:
        """Store every brand field of `org` (the caller merged the changes); None if unknown."""
        values = {**_org_values(org), "updated_at": utc(now)}
        with self._auto.connect() as conn:
            if conn.execute(update(ORGS).where(co.id == org.id).values(values)).rowcount != 1:
                return None
        return self.get_org(org.id)

    # -- context items for ranking -------------------------------------------------------------

    @translated
    def context_items_for(
        self, organization_id: str, source_ids: Sequence[str] | None = None, limit: int = 5000
    ) -> builtins.list[ItemRecord]:
        """The organisation's context items, newest first (only from `source_ids` when given)."""
        stmt = (
            select(ITEMS)
            .where(ci.organization_id == organization_id)
            .order_by(ci.fetched_at.desc(), ci.id.desc())
            .limit(limit)
        )
        if source_ids is not None:
            stmt = stmt.where(ci.source_id.in_(list(source_ids)))
        with self._auto.connect() as conn:
            return [_item(r) for r in conn.execute(stmt)]

    # -- content items -------------------------------------------------------------------------

    @translated
    def replace_job_content(
        self, organization_id: str, job_id: str | None, topic: str, items: Sequence[NewContent], now: datetime
    ) -> builtins.list[ContentRecord]:
        """Store a job's variations (its earlier DRAFTs go), in one transaction; in input order."""
        now = utc(now)
        rows = [self._content_row(organization_id, job_id, topic, item, now) for item in items]
        with self._transaction() as conn, conn.begin():
            if job_id is not None:
                conn.execute(
                    delete(CONTENT).where(cc.job_id == job_id, cc.status == ContentStatus.DRAFT.value)
                )
            if rows:
                conn.execute(CONTENT.insert(), rows)
        ids = [r["id"] for r in rows]
        with self._auto.connect() as conn:
            found = {r.id: _content(r) for r in conn.execute(select(CONTENT).where(cc.id.in_(ids)))}
        return [found[i] for i in ids]

    @staticmethod
    def _content_row(
        organization_id: str, job_id: str | None, topic: str, item: NewContent, now: datetime
    ) -> dict[str, Any]:
        return {
            "id": new_content_id(), "organization_id": organization_id, "job_id": job_id,
            "topic": topic, "platform": item.platform, "variation": item.variation,
            "body": item.body, "hashtags": list(item.hashtags),
            "context_item_ids": list(item.context_item_ids), "status": ContentStatus.DRAFT.value,
            "provider": item.provider, "model": item.model, "created_at": now, "updated_at": now,
        }  # fmt: skip

    @translated
    def get_content(self, item_id: str) -> ContentRecord | None:
        with self._auto.connect() as conn:
            row = conn.execute(select(CONTENT).where(cc.id == item_id)).first()
        return _content(row) if row is not None else None

    @translated
    def list_content(
        self,
        *,
        organization_id: str | None = None,
        platform: str | None = None,
        status: ContentStatus | None = None,
        job_id: str | None = None,
        limit: int = 50,
    ) -> builtins.list[ContentRecord]:
        """Newest first."""
        stmt = select(CONTENT).order_by(cc.created_at.desc(), cc.platform, cc.variation).limit(limit)
        if organization_id is not None:
            stmt = stmt.where(cc.organization_id == organization_id)
        if platform is not None:
            stmt = stmt.where(cc.platform == platform)
        if status is not None:
            stmt = stmt.where(cc.status == status.value)
        if job_id is not None:
            stmt = stmt.where(cc.job_id == job_id)
        with self._auto.connect() as conn:
            return [_content(r) for r in conn.execute(stmt)]

    # -- image assets --------------------------------------------------------------------------

    @translated
    def add_image(
        self,
        organization_id: str,
        *,
        content_item_id: str | None,
        prompt: str,
        path: str,
        size: tuple[int, int],
        provider: str,
        now: datetime,
    ) -> ImageRecord:
        values = {
            "id": new_image_id(), "organization_id": organization_id, "content_item_id": content_item_id,
            "prompt": prompt, "path": path, "width": size[0], "height": size[1], "provider": provider,
            "created_at": utc(now),
        }  # fmt: skip
        with self._auto.connect() as conn:
            conn.execute(IMAGES.insert().values(values))
            row = conn.execute(select(IMAGES).where(im.id == values["id"])).one()
        return _image(row)

    @translated
    def get_image(self, image_id: str) -> ImageRecord | None:
        with self._auto.connect() as conn:
            row = conn.execute(select(IMAGES).where(im.id == image_id)).first()
        return _image(row) if row is not None else None

    @translated
    def latest_image_for(self, content_item_id: str) -> ImageRecord | None:
        """The newest image generated for a content item (the one publishing attaches)."""
        stmt = select(IMAGES).where(im.content_item_id == content_item_id)
        stmt = stmt.order_by(im.created_at.desc(), im.id.desc()).limit(1)
        with self._auto.connect() as conn:
            row = conn.execute(stmt).first()
        return _image(row) if row is not None else None

    @translated
    def list_images(self, organization_id: str | None = None, limit: int = 50) -> builtins.list[ImageRecord]:
        stmt = select(IMAGES).order_by(im.created_at.desc(), im.id).limit(limit)
        if organization_id is not None:
            stmt = stmt.where(im.organization_id == organization_id)
        with self._auto.connect() as conn:
            return [_image(r) for r in conn.execute(stmt)]
