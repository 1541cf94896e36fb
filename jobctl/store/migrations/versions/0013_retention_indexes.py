"""Indexes the retention sweep needs: each pruned table's time column.

Revision ID: 0013_retention_indexes
Revises: 0012_post_analytics

The sweep (jobctl.scheduler.retention) deletes rows oldest first by one time column per table
(jobctl.domain.retention.RULES), and doctor reads that column's minimum; both must be an index
range, not a scan of a table of millions of rows. The tables at 0012 already have theirs:
jobs (status, finished_at), partial, from 0003; job_attempts go by job_id (the unique
(job_id, attempt)); schedule_firings (recorded_at) from 0002; audit_log (at) from 0010.
`post_analytics` (0012) has none on collected_at alone (its indexes lead with the organisation,
the account or the post): it is made here. Guarded by the table's existence, so a database
whose history lacks that table still upgrades. Written by hand and frozen.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_retention_indexes"
down_revision: str | None = "0012_post_analytics"
branch_labels: str | None = None
depends_on: str | None = None

# (index, table, columns) created when the table exists and the index does not
_INDEXES = (("ix_post_analytics_collected_at", "post_analytics", ["collected_at"]),)


def _present(table: str) -> set[str] | None:
    """The table's index names, or None when the table does not exist."""
    inspector = sa.inspect(op.get_bind())
    if table not in inspector.get_table_names():
        return None
    return {str(ix["name"]) for ix in inspector.get_indexes(table)}


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        present = _present(table)
        if present is not None and name not in present:
            op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        present = _present(table)
        if present is not None and name in present:
            op.drop_index(name, table_name=table)
