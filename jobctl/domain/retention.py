"""Retention: which rows age out of the database, by which time column, under which setting.

RULES is the whole policy, one line a table: the sweep (jobctl.scheduler.retention) and
`jobctl doctor` read it, and a rule whose table does not exist (yet) is skipped, so a table
added by a later branch is one line here. Rows older than `now - days` by `time_column` are
deleted in batches by primary key; 0 days keeps the table forever.

The `jobs` rule is special-cased by the sweep: only finished jobs (COMPLETED, FAILED,
CANCELLED, by `finished_at`) go, never PENDING or RUNNING ones, each with its `job_attempts`
rows in the same transaction and its Redis keys just after. `brand_learnings` is absent on
purpose: each recompute replaces an organisation's rows, so it never grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class RetentionRule:
    table: str
    time_column: str  # an indexed, non-null (or only-null-while-active) UTC timestamp column
    setting: str  # a `*_days` field of jobctl.retention_config.RetentionSettings
    what: str  # what the rows are, for doctor and `db prune`

    def cutoff(self, now: datetime, days: int) -> datetime | None:
        """Rows older than this go; None when the setting keeps them forever (0)."""
        return None if days <= 0 else now - timedelta(days=days)


JOBS_TABLE = "jobs"
RULES: tuple[RetentionRule, ...] = (
    RetentionRule(JOBS_TABLE, "finished_at", "jobs_days", "finished jobs, their attempts and Redis keys"),
    RetentionRule("schedule_firings", "recorded_at", "schedule_firings_days", "schedule firings"),
    RetentionRule("post_analytics", "collected_at", "analytics_days", "post analytics"),
    RetentionRule("audit_log", "at", "audit_days", "audit log entries"),
)


@dataclass
class TablePrune:
    """What one sweep did (or, dry, would do) to one table."""

    table: str
    days: int
    cutoff: datetime | None
    deleted: int = 0  # rows (a dry run: rows that would go)
    batches: int = 0
    seconds: float = 0.0
    skipped: str | None = None  # why nothing was looked at (no such table, kept forever)

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table, "days": self.days,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None, "deleted": self.deleted,
            "batches": self.batches, "seconds": round(self.seconds, 3), "skipped": self.skipped,
        }  # fmt: skip


@dataclass
class PruneReport:
    """One sweep: per table, plus whether it ran to the end (`stopped`: why not)."""

    now: datetime
    dry_run: bool
    batch_size: int
    tables: list[TablePrune] = field(default_factory=list)
    stopped: str | None = None  # "lease lost", "stopping": the next sweep resumes

    @property
    def deleted(self) -> int:
        return sum(t.deleted for t in self.tables)

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(), "dry_run": self.dry_run, "batch_size": self.batch_size,
            "deleted": self.deleted, "stopped": self.stopped,
            "tables": [t.to_json() for t in self.tables],
        }  # fmt: skip
