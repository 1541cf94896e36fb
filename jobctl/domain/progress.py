"""A running job's progress and log lines, as the API hands them out (plain records)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobProgress:
    done: float
    total: float | None
    message: str | None
    updated_at: str  # ISO 8601 UTC

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return max(0.0, min(1.0, self.done / self.total))

    def to_json(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class LogLine:
    seq: int  # grows by one per line of a job, across attempts: `jobs logs -f` prints seq > last
    ts: str
    attempt: int
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "attempt": self.attempt,
            "message": self.message,
            **self.fields,
        }
