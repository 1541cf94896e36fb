"""The `audit_log` table (migration 0009): one row per bulk action an operator ran.

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
Who ran it (`actor`, of `actor_kind` os-user or api-token), what (`action`, e.g. jobs.purge),
on which jobs (`filter`, the command's criteria as JSON), how many it changed (`count`) and
when. `detail` holds the rest of the report (matched, skipped, aborted). Rows are only ever
inserted; `jobctl audit list` reads them newest first through ix_audit_log_at.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table
from sqlmodel import Field, SQLModel

from jobctl.store.tables import UTCDateTime, json_type


class AuditEntryRow(SQLModel, table=True):
    """One bulk action: who, what, which filter, how many, when."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(
        default=None, sa_column=Column("id", Integer, primary_key=True, autoincrement=True)
    )
    at: datetime = Field(sa_column=Column("at", UTCDateTime, nullable=False))
    actor: str = Field(sa_column=Column("actor", String(255), nullable=False))
    actor_kind: str = Field(sa_column=Column("actor_kind", String(16), nullable=False))
    action: str = Field(sa_column=Column("action", String(64), nullable=False))
    filter: dict[str, Any] = Field(sa_column=Column("filter", json_type(), nullable=False))
    count: int = Field(sa_column=Column("count", Integer, nullable=False))
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column("detail", json_type()))


AUDIT_LOG: Table = SQLModel.metadata.tables["audit_log"]
