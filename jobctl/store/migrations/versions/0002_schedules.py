"""Create the scheduler's tables: schedules, schedule_firings (one row per handled tick) and
scheduler_fence (the highest leader fencing token written).

Revision ID: 0002_schedules
Revises: 0001_jobs

Written by hand and frozen, like 0001: types are spelled out, not imported from the models.
The primary key (schedule_id, fire_time) of schedule_firings is the constraint that makes a
double fire impossible with any number of scheduler processes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_schedules"
down_revision: str | None = "0001_jobs"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("job_type", sa.String(100), nullable=False),
        sa.Column("cron", sa.String(200), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("organization_id", sa.String(200), nullable=True),
        sa.Column("queue", sa.String(100), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("catch_up", sa.String(16), nullable=False),
        sa.Column("owner_kind", sa.String(32), nullable=True),
        sa.Column("owner_id", sa.String(200), nullable=True),
        sa.Column("template", sa.String(100), nullable=True),
        sa.Column("active_since", _ts(), nullable=False),
        sa.Column("last_tick_at", _ts(), nullable=True),
        sa.Column("last_fired_at", _ts(), nullable=True),
        sa.Column("last_job_id", sa.String(128), nullable=True),
        sa.Column("skip_count", sa.Integer(), nullable=False),
        sa.Column("last_skipped_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
    )
    op.create_index("ix_schedules_owner", "schedules", ["owner_kind", "owner_id"])
    op.create_table(
        "schedule_firings",
        sa.Column(
            "schedule_id",
            sa.String(64),
            sa.ForeignKey("schedules.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("fire_time", _ts(), primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("job_written", sa.Boolean(), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=True),
        sa.Column("recorded_by", sa.String(255), nullable=True),
        sa.Column("recorded_at", _ts(), nullable=False),
    )
    op.create_index("ix_schedule_firings_recorded_at", "schedule_firings", ["recorded_at"])
    op.create_table(
        "scheduler_fence",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scheduler_fence")
    op.drop_table("schedule_firings")
    op.drop_index("ix_schedules_owner", table_name="schedules")
    op.drop_table("schedules")
