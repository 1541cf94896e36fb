"""AuditRepository: append and read the `audit_log` table (one row per bulk action)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from jobctl.domain.audit import AuditEntry, NewAuditEntry
from jobctl.domain.errors import DatabaseUnavailableError
from jobctl.store.audit_tables import AUDIT_LOG
from jobctl.store.db_errors import database_errors, describe_db_error
from jobctl.store.engine import autocommit, engine_label
from jobctl.store.record_rows import utc

ac = AUDIT_LOG.c


class AuditRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._label = engine_label(engine)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except database_errors() as exc:
            raise DatabaseUnavailableError(describe_db_error(self._label, exc)) from exc

    def add(self, entry: NewAuditEntry, now: datetime) -> int:
        """Append one entry; its id."""
        stmt = insert(AUDIT_LOG).values(
            at=utc(now),
            actor=entry.actor.name,
            actor_kind=entry.actor.kind.value,
            action=entry.action,
            filter=entry.filter,
            count=entry.count,
            detail=entry.detail,
        )
        with self._errors(), self._engine.begin() as conn:
            key = conn.execute(stmt).inserted_primary_key
        return int(key[0]) if key else 0

    def list(self, *, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
        """Newest first (ix_audit_log_at)."""
        stmt = select(AUDIT_LOG).order_by(ac.at.desc(), ac.id.desc()).limit(limit)
        if action is not None:
            stmt = stmt.where(ac.action == action)
        with self._errors(), self._auto.connect() as conn:
            rows = conn.execute(stmt).all()
        out = []
        for row in rows:
            m = row._mapping  # by name: Row.count is a tuple method, not the column
            out.append(
                AuditEntry(
                    id=int(m["id"]),
                    at=utc(m["at"]),
                    actor=m["actor"],
                    actor_kind=m["actor_kind"],
                    action=m["action"],
                    filter=dict(m["filter"] or {}),
                    count=int(m["count"]),
                    detail=dict(m["detail"]) if m["detail"] is not None else None,
                )
            )
        return out
