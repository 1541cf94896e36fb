"""The doctor's `retention` check: how big the pruned tables are, and whether the sweep keeps up.

For each retention rule (jobctl.domain.retention.RULES) whose table exists: its rows (exact up
to 100,000, PostgreSQL's estimate past that), its bytes (pg_total_relation_size on PostgreSQL,
the dbstat pages of the table and its indexes on SQLite), its window and its oldest row; then
the whole database's size and the last complete sweep (from Redis: when, by whom, what went).
A table whose oldest row is older than its window by more than OVERDUE_GRACE warns: nothing
prunes it (every `jobctl scheduler` sweeps hourly; without one, run `jobctl db prune` from cron).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from jobctl.api.doctor import OK, WARN, Check, not_checked
from jobctl.domain.retention import RULES
from jobctl.settings import Settings

OVERDUE_GRACE = timedelta(days=1)  # an hourly sweep is never this late


def retention_check(
    settings: Settings,
    engine: Any,
    redis: Any,
    now: datetime,
    *,
    db_problem: str | None,
    redis_problem: str | None,
) -> Check:
    """Sizes of the pruned tables (needs the database at the current schema: `engine`) and
    the last sweep (needs Redis: `redis`, else the finding leaves it out)."""
    if db_problem:
        return not_checked("retention", db_problem)
    if engine is None:
        return Check("retention", OK, "no tables yet (the embedded database is not created yet)")
    from jobctl.store.retention_queries import RetentionQueries

    queries = RetentionQueries(engine)
    parts, overdue, tables = [], [], []
    for rule in RULES:
        size = queries.size(rule)
        days = settings.retention.days(rule.setting)
        if size is None:
            tables.append({"table": rule.table, "present": False, "days": days})
            continue
        tables.append({
            "table": size.table, "present": True, "rows": size.rows, "rows_estimated": size.rows_estimated,
            "bytes": size.bytes, "days": days, "oldest": size.oldest.isoformat() if size.oldest else None,
        })  # fmt: skip
        rows = f"{'~' if size.rows_estimated else ''}{size.rows:,} rows"
        shown = f"{size.table} {rows}" + (f" ({_bytes(size.bytes)})" if size.bytes is not None else "")
        keep = "kept forever" if days <= 0 else f"keep {days} d"
        if size.oldest is not None:
            keep += f", oldest {_days(now - size.oldest)} old"
            if days > 0 and now - size.oldest > timedelta(days=days) + OVERDUE_GRACE:
                overdue.append(size.table)
        parts.append(f"{shown}, {keep}")
    total = queries.database_bytes()
    details: dict[str, Any] = {"tables": tables, "database_bytes": total, "last_sweep": None}
    finding = "; ".join(parts) + (f"; database {_bytes(total)}" if total is not None else "")
    if redis_problem is None and redis is not None:
        from jobctl.scheduler.retention import last_sweep

        last = details["last_sweep"] = last_sweep(redis)
        finding += f"; last sweep {_last(last, now)}"
    if overdue:
        return Check(
            "retention", WARN, f"{finding}; older than their window: {', '.join(overdue)}",
            "nothing prunes them: run a `jobctl scheduler` (it sweeps hourly) or `jobctl db prune` "
            "(from cron)", details,
        )  # fmt: skip
    return Check("retention", OK, finding, None, details)


def _last(last: dict[str, Any] | None, now: datetime) -> str:
    if last is None:
        return "never"
    try:
        age = now - datetime.fromisoformat(str(last.get("finished_at")))
    except ValueError:
        return "unknown"
    deleted = last.get("deleted")
    count = sum(v for v in deleted.values() if isinstance(v, int)) if isinstance(deleted, dict) else 0
    return f"{_days(age)} ago by {last.get('holder', '?')} ({count:,} rows deleted)"


def _days(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _bytes(n: int | None) -> str:
    if n is None:
        return "size unknown"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover
