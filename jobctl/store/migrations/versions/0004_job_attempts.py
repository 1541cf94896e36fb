"""Every execution of a job on record: the `job_attempts` table.

Revision ID: 0004_job_attempts
Revises: 0003_jobs_finished_index

The `jobs` row keeps only the last run; operators asked "what happened to attempts 1 and 2?".
One row per (job_id, attempt) with its worker, times, duration, outcome and error. Types are
spelled out (UTCDateTime is a Python-side conversion over DateTime(timezone=True)), as in 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_job_attempts"
down_revision: str | None = "0003_jobs_finished_index"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "job_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(128), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(255)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("duration_ms", sa.Float),
        sa.Column("outcome", sa.String(32)),
        sa.Column("error_type", sa.Text),
        sa.Column("error_message", sa.Text),
        sa.Column("error_traceback", sa.Text),
        sa.UniqueConstraint("job_id", "attempt", name="uq_job_attempts_job_id_attempt"),
    )
    op.create_index("ix_job_attempts_started_at", "job_attempts", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_job_attempts_started_at", table_name="job_attempts")
    op.drop_table("job_attempts")
