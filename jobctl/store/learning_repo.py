"""LearningRepository: each organisation's latest brand-learning set (jobctl.domain.learning).

History is not kept here: `replace` deletes the organisation's rows and inserts the new batch
in one transaction. The raw history is PostAnalytics (one row per post per collection), from
which any past set can be recomputed; keeping every hourly set would add ~24 batches a day per
organisation that nobody reads. `latest` reads only the newest batch (created_at, then batch
id), so even two recomputes racing on PostgreSQL's READ COMMITTED show one consistent set, and
the next recompute removes the loser's rows.

Every method turns database outages into DatabaseUnavailableError (masked URL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine, Row

from jobctl.domain.learning import BrandLearning, LearningKind, sort_learnings
from jobctl.store.content_tables import ORGS
from jobctl.store.db_errors import database_errors, translated
from jobctl.store.engine import SQLITE_IMMEDIATE, autocommit, engine_label
from jobctl.store.learning_tables import LEARNINGS
from jobctl.store.record_rows import utc

lc = LEARNINGS.c


def _record(row: Row[Any]) -> BrandLearning:
    m = row._mapping
    return BrandLearning(
        organization_id=m["organization_id"],
        kind=LearningKind(m["kind"]),
        insight=m["insight"],
        evidence=dict(m["evidence"] or {}),
        confidence=m["confidence"],
        period_start=utc(m["period_start"]) if m["period_start"] is not None else None,
        period_end=utc(m["period_end"]) if m["period_end"] is not None else None,
        created_at=utc(m["created_at"]),
        batch_id=m["batch_id"],
        id=m["id"],
    )


def _row(b: BrandLearning) -> dict[str, Any]:
    return {
        "id": b.id, "organization_id": b.organization_id, "batch_id": b.batch_id,
        "kind": b.kind.value, "insight": b.insight, "evidence": b.evidence,
        "confidence": b.confidence, "period_start": b.period_start, "period_end": b.period_end,
        "created_at": b.created_at,
    }  # fmt: skip


class LearningRepository:
    """The `brand_learnings` table over one Engine (thread-safe: a connection per call)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._label = engine_label(engine)
        self._db_errors = database_errors()

    @property
    def engine(self) -> Engine:
        return self._engine

    @translated
    def replace(self, organization_id: str, learnings: Sequence[BrandLearning]) -> None:
        """The organisation's set becomes `learnings` (one batch), atomically."""
        if any(b.organization_id != organization_id for b in learnings):
            raise ValueError("every learning must belong to the organization being replaced")
        if len({b.batch_id for b in learnings}) > 1 or any(not b.batch_id for b in learnings):
            raise ValueError("the learnings of one replace are one batch (one non-empty batch_id)")
        conn_ = self._engine.connect().execution_options(**{SQLITE_IMMEDIATE: True})
        with conn_ as conn, conn.begin():
            conn.execute(delete(LEARNINGS).where(lc.organization_id == organization_id))
            if learnings:
                conn.execute(LEARNINGS.insert(), [_row(b) for b in learnings])

    @translated
    def organization_timezone(self, organization_id: str) -> str | None:
        """The organisation's timezone (`jobctl orgs set ORG --timezone`); None: not set or no row."""
        with self._auto.connect() as conn:
            row = conn.execute(select(ORGS.c.timezone).where(ORGS.c.id == organization_id)).first()
        return row[0] if row is not None else None

    @translated
    def latest(self, organization_id: str, *, insights_only: bool = False) -> list[BrandLearning]:
        """The newest batch of the organisation (SUMMARY first, then insights); [] if none."""
        newest = (
            select(lc.batch_id)
            .where(lc.organization_id == organization_id)
            .order_by(lc.created_at.desc(), lc.batch_id.desc())
            .limit(1)
            .scalar_subquery()
        )
        stmt = select(LEARNINGS).where(lc.organization_id == organization_id, lc.batch_id == newest)
        if insights_only:
            stmt = stmt.where(lc.kind != LearningKind.SUMMARY.value)
        with self._auto.connect() as conn:
            return sort_learnings([_record(r) for r in conn.execute(stmt)])
