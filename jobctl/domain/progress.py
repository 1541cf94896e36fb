"""A job's live progress and log lines, as the API hands them out (plain records).

Written by the job through `ctx.progress()` / `ctx.log()` (jobctl.processors.base), kept in
Redis by jobctl.queue.progress, read by `jobctl jobs show`, `jobctl jobs logs`, `enqueue --wait`
and the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobProgress:
    """The last `ctx.progress(done, total, message)` of a job (of its latest reporting attempt)."""

    done: float
    total: float | None
    message: str | None
    updated_at: str  # ISO 8601 UTC
    attempt: int = 0

    @property
    def fraction(self) -> float | None:
        """done/total clamped to 0..1; None when the total is unknown (or zero)."""
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    def describe(self) -> str:
        """'3/10 (30%) copying files', '42 items' without a total: one line for text output."""
        if self.total:
            text = f"{self.done:g}/{self.total:g} ({(self.fraction or 0.0) * 100:.0f}%)"
        else:
            text = f"{self.done:g}"
        return f"{text} {self.message}" if self.message else text

    def to_json(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "fraction": self.fraction,
            "message": self.message,
            "updated_at": self.updated_at,
            "attempt": self.attempt,
        }


@dataclass(frozen=True)
class LogLine:
    seq: int  # line number within the job, across attempts: `jobs logs -f` prints seq > last
    ts: str
    attempt: int
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One plain text line: time, attempt, message, then key=value fields."""
        extra = "".join(f" {k}={v}" for k, v in self.fields.items())
        return f"{self.ts} #{self.attempt} {self.message}{extra}"

    def to_json(self) -> dict[str, Any]:
        return {
            **self.fields,
            "seq": self.seq,
            "ts": self.ts,
            "attempt": self.attempt,
            "message": self.message,
        }


@dataclass(frozen=True)
class JobActivity:
    """What a job reported: its progress, some of its kept log lines, and how many it logged.

    Only the last `[jobs] log_max_lines` lines (and `log_max_bytes`) are kept, so `lines_total`
    can exceed what is kept: the first kept line's `seq` says how many were dropped before it.
    """

    progress: JobProgress | None
    lines: list[LogLine]
    lines_total: int

    @property
    def dropped_before(self) -> int:
        """Lines logged before the first one returned that are no longer (or not here) kept."""
        return self.lines[0].seq - 1 if self.lines else self.lines_total

    def to_json(self) -> dict[str, Any]:
        return {
            "progress": self.progress.to_json() if self.progress else None,
            "logs": [line.to_json() for line in self.lines],
            "log_lines_total": self.lines_total,
        }
