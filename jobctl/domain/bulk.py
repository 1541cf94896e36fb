"""What a bulk command acts on: a selection of finished jobs, and the report of one run.

A selection names statuses (never PENDING or RUNNING for a purge: `purgeable` refuses them),
optionally types, queues and an organisation, and a window of `finished_at`: jobs that ended
after `finished_after` (retry --since) and before `finished_before` (purge --older-than; a
retry run's start, so a job that fails again during the run is not retried twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobctl.domain.errors import InvalidInputError
from jobctl.domain.status import JobStatus

PURGEABLE = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobSelection:
    statuses: tuple[JobStatus, ...]
    types: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    organization_id: str | None = None
    finished_after: datetime | None = None
    finished_before: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The audit log's and `--json`'s view of the filter (only the criteria given)."""
        out: dict[str, Any] = {"statuses": [s.value for s in self.statuses]}
        if self.types:
            out["types"] = list(self.types)
        if self.queues:
            out["queues"] = list(self.queues)
        if self.organization_id is not None:
            out["organization_id"] = self.organization_id
        if self.finished_after is not None:
            out["finished_after"] = self.finished_after.isoformat()
        if self.finished_before is not None:
            out["finished_before"] = self.finished_before.isoformat()
        return out


def purgeable(selection: JobSelection) -> JobSelection:
    """The selection, if it names only final statuses and an age bound; InvalidInputError if not
    (a purge never deletes a PENDING or RUNNING job, nor jobs of every age by accident)."""
    active = [s.value for s in selection.statuses if s not in PURGEABLE]
    if active or not selection.statuses:
        raise InvalidInputError(
            f"purge deletes only COMPLETED, FAILED or CANCELLED jobs, not {', '.join(active) or 'none'}"
        )
    if selection.finished_before is None:
        raise InvalidInputError("purge needs an age (--older-than)")
    return selection


@dataclass
class BulkReport:
    """What one bulk run did: `matched` at the preview, `done` changed, `skipped` (id, why)."""

    action: str
    selection: JobSelection
    matched: int = 0
    done: int = 0
    dry_run: bool = False
    by_status: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    aborted: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "filter": self.selection.to_json(),
            "dry_run": self.dry_run,
            "matched": self.matched,
            "by_status": self.by_status,
            "done": self.done,
            "skipped": [{"id": i, "reason": why} for i, why in self.skipped],
            "aborted": self.aborted,
        }

    def audit_detail(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "by_status": self.by_status,
            "skipped": len(self.skipped),
            "aborted": self.aborted,
        }
