"""The `[retention]` settings: how long finished work stays in the database, per kind of row.

Kept out of jobctl.settings (which only calls `retention_from_table` / `retention_from_env`)
so that file stays readable; like it, this module is stdlib only.

    [retention]
    jobs_days = 30              # JOBCTL_RETENTION_JOBS_DAYS: finished jobs, with their attempt
                                #   rows and their Redis keys (RQ hash and result, progress, logs)
    schedule_firings_days = 30  # JOBCTL_RETENTION_SCHEDULE_FIRINGS_DAYS: each schedule's history
    analytics_days = 400        # JOBCTL_RETENTION_ANALYTICS_DAYS: post metrics (a year of trends
                                #   plus a month, so this month compares with the same one last year)
    audit_days = 365            # JOBCTL_RETENTION_AUDIT_DAYS: who ran which bulk action
    batch_size = 5000           # JOBCTL_RETENTION_BATCH_SIZE: rows per DELETE transaction

0 keeps a kind of row forever. Log lines are not here: they live in Redis and expire by
themselves (`[jobs] log_ttl_seconds`, a week), and a pruned job takes its log key with it.

Why these defaults: 30 days of jobs covers the "what happened last month" questions (`jobs
list --since`, failures per type) and a monthly review, while a busy deployment (100,000 jobs a
day) stays near 3 million rows; firings follow their jobs. Analytics feed trends, where a year
back matters; audit rows are few (one per bulk action) and a year is what audits usually ask for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

# (setting, environment variable, smallest value)
FIELDS: tuple[tuple[str, str, int], ...] = (
    ("jobs_days", "JOBCTL_RETENTION_JOBS_DAYS", 0),
    ("schedule_firings_days", "JOBCTL_RETENTION_SCHEDULE_FIRINGS_DAYS", 0),
    ("analytics_days", "JOBCTL_RETENTION_ANALYTICS_DAYS", 0),
    ("audit_days", "JOBCTL_RETENTION_AUDIT_DAYS", 0),
    ("batch_size", "JOBCTL_RETENTION_BATCH_SIZE", 1),
)
KEYS = frozenset(key for key, _, _ in FIELDS)
MAX_BATCH = 100_000  # one DELETE of more rows holds its locks and WAL for too long

Fail = Callable[[str, str], Exception]  # (key, problem) -> the ConfigError to raise


@dataclass(frozen=True)
class RetentionSettings:
    jobs_days: int = 30
    schedule_firings_days: int = 30
    analytics_days: int = 400
    audit_days: int = 365
    batch_size: int = 5000

    def days(self, setting: str) -> int:
        """The window of one rule's setting (a `*_days` name); 0 = forever."""
        value = getattr(self, setting)
        assert isinstance(value, int) and setting.endswith("_days"), setting
        return value

    def describe(self) -> dict[str, object]:
        return {key: getattr(self, key) for key, _, _ in FIELDS}


def _number(fail: Fail, key: str, value: object, minimum: int) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise fail(key, f"expected a whole number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(key, f"expected a whole number, got {value!r}")
    if value < minimum:
        raise fail(key, f"must be at least {minimum}, got {value}")
    if key.endswith("batch_size") and value > MAX_BATCH:
        raise fail(key, f"must be at most {MAX_BATCH}, got {value}")
    return value


def retention_from_table(r: RetentionSettings, table: Mapping[str, object], fail: Fail) -> RetentionSettings:
    """Overlay the config file's `[retention]` table (keys already checked against KEYS)."""
    values = {k: _number(fail, f"retention.{k}", table[k], low) for k, _, low in FIELDS if k in table}
    return replace(r, **values)


def retention_from_env(r: RetentionSettings, env: Mapping[str, str], fail: Fail) -> RetentionSettings:
    """Overlay the environment variables of FIELDS (empty values count as unset)."""
    values = {}
    for key, name, low in FIELDS:
        if raw := env.get(name, "").strip():
            values[key] = _number(fail, name, raw, low)
    return replace(r, **values)


def sources() -> tuple[tuple[str, str | None, tuple[str, ...]], ...]:
    """(setting name, environment variable, config path) rows for jobctl.settings._SOURCES."""
    return tuple((f"retention.{key}", name, ("retention", key)) for key, name, _ in FIELDS)
