"""Create the jobs table and the indexes the CLI and dashboard queries use.

Revision ID: 0001_jobs
Revises: (none)

Written by hand and frozen: later schema changes are new revisions, never edits here, so
existing databases upgrade without loss. Types are spelled out rather than imported from
`jobctl.store.tables` for the same reason (UTCDateTime is only a Python-side conversion over
`DateTime(timezone=True)`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_jobs"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("queue", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("organization_id", sa.String(200), nullable=True),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("result", _json(), nullable=True),
        sa.Column("error_type", sa.Text(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_traceback", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.String(128), nullable=True),
        sa.Column("scheduled_for", _ts(), nullable=True),
        sa.Column("next_attempt_at", _ts(), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("started_at", _ts(), nullable=True),
        sa.Column("finished_at", _ts(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("worker", sa.String(255), nullable=True),
    )
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at", "id"])
    op.create_index("ix_jobs_type_created_at", "jobs", ["type", "created_at", "id"])
    op.create_index("ix_jobs_created_at", "jobs", ["created_at", "id"])
    op.create_index("ix_jobs_organization_id_status", "jobs", ["organization_id", "status"])
    op.create_index("ix_jobs_schedule_id_scheduled_for", "jobs", ["schedule_id", "scheduled_for"])
    op.create_index("ix_jobs_queue_status", "jobs", ["queue", "status"])


def downgrade() -> None:
    op.drop_table("jobs")
