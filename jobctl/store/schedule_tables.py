"""The scheduler's tables: schedules, one row per handled tick, and the leader fence.

No `from __future__ import annotations` (SQLModel reads annotations at class creation).
Columns are spelled out so the schema is exactly what migration 0002 creates (a test compares
them). `jobctl.store.tables` imports this module, so its METADATA always holds these tables.

- `schedule_firings` has the primary key (schedule_id, fire_time): a tick can be handled once,
  whatever the number of scheduler processes; its outcome (enqueued, skipped, missed, error)
  is the schedule's history.
- `scheduler_fence` keeps the highest fencing token a scheduler leader has written with; a
  write carrying a smaller token (a leader that was paused past its lease) is refused.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlmodel import Field, SQLModel

from jobctl.store.tables import UTCDateTime, json_type


class Schedule(SQLModel, table=True):
    """A cron schedule: what to enqueue (type, payload, organisation, queue), when (cron in a
    time zone), and the bookkeeping the scheduler and `schedules list` need."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_owner", "owner_kind", "owner_id"),)

    id: str = Field(sa_column=Column("id", String(64), primary_key=True))
    name: str = Field(sa_column=Column("name", String(200), nullable=False, unique=True))
    job_type: str = Field(sa_column=Column("job_type", String(100), nullable=False))
    cron: str = Field(sa_column=Column("cron", String(200), nullable=False))
    timezone: str = Field(sa_column=Column("timezone", String(64), nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column("payload", json_type(), nullable=False))
    organization_id: str | None = Field(default=None, sa_column=Column("organization_id", String(200)))
    queue: str | None = Field(default=None, sa_column=Column("queue", String(100)))
    enabled: bool = Field(sa_column=Column("enabled", Boolean, nullable=False))
    catch_up: str = Field(sa_column=Column("catch_up", String(16), nullable=False))
    owner_kind: str | None = Field(default=None, sa_column=Column("owner_kind", String(32)))
    owner_id: str | None = Field(default=None, sa_column=Column("owner_id", String(200)))
    template: str | None = Field(default=None, sa_column=Column("template", String(100)))
    active_since: datetime = Field(sa_column=Column("active_since", UTCDateTime, nullable=False))
    last_tick_at: datetime | None = Field(default=None, sa_column=Column("last_tick_at", UTCDateTime))
    last_fired_at: datetime | None = Field(default=None, sa_column=Column("last_fired_at", UTCDateTime))
    last_job_id: str | None = Field(default=None, sa_column=Column("last_job_id", String(128)))
    skip_count: int = Field(default=0, sa_column=Column("skip_count", Integer, nullable=False))
    last_skipped_at: datetime | None = Field(default=None, sa_column=Column("last_skipped_at", UTCDateTime))
    created_at: datetime = Field(sa_column=Column("created_at", UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column("updated_at", UTCDateTime, nullable=False))


class ScheduleFiring(SQLModel, table=True):
    """One handled tick (or manual trigger) of a schedule; its key makes a second firing impossible."""

    __tablename__ = "schedule_firings"
    # The scheduler's repair pass looks for recent enqueued firings whose job was not written.
    __table_args__ = (Index("ix_schedule_firings_recorded_at", "recorded_at"),)

    schedule_id: str = Field(
        sa_column=Column(
            "schedule_id", String(64), ForeignKey("schedules.id", ondelete="CASCADE"), primary_key=True
        )
    )
    fire_time: datetime = Field(sa_column=Column("fire_time", UTCDateTime, primary_key=True))
    outcome: str = Field(sa_column=Column("outcome", String(16), nullable=False))
    job_id: str | None = Field(default=None, sa_column=Column("job_id", String(128)))
    reason: str | None = Field(default=None, sa_column=Column("reason", Text))
    # Set once the job row exists: an enqueued firing still False after a while lost its job
    # (the scheduler stopped in between) and is repaired; a job deleted later is not revived.
    job_written: bool = Field(sa_column=Column("job_written", Boolean, nullable=False))
    manual: bool = Field(sa_column=Column("manual", Boolean, nullable=False))
    token: int | None = Field(default=None, sa_column=Column("token", BigInteger))
    recorded_by: str | None = Field(default=None, sa_column=Column("recorded_by", String(255)))
    recorded_at: datetime = Field(sa_column=Column("recorded_at", UTCDateTime, nullable=False))


class SchedulerFence(SQLModel, table=True):
    """The highest fencing token written per lease name (one row: "scheduler")."""

    __tablename__ = "scheduler_fence"

    name: str = Field(sa_column=Column("name", String(64), primary_key=True))
    token: int = Field(sa_column=Column("token", BigInteger, nullable=False))
    holder: str = Field(sa_column=Column("holder", String(255), nullable=False))
    updated_at: datetime = Field(sa_column=Column("updated_at", UTCDateTime, nullable=False))


SCHEDULES: Table = SQLModel.metadata.tables["schedules"]
FIRINGS: Table = SQLModel.metadata.tables["schedule_firings"]
FENCE: Table = SQLModel.metadata.tables["scheduler_fence"]
