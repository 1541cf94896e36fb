"""One page of jobs: mark, id, status, progress, type, org, attempts, age, duration, queue, error."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from jobctl.api.dashboard import JobProgress, JobSummary
from jobctl.domain.status import JobStatus
from jobctl.tui.format import age, bar, cell, duration, short, status_cell
from jobctl.tui.keyed_table import KeyedTable, Row

MARK = "●"


class JobsTable(KeyedTable):
    COLUMNS = (
        ("mark", " "),
        ("id", "ID"),
        ("status", "STATUS"),
        ("progress", "PROGRESS"),
        ("type", "TYPE"),
        ("org", "ORG"),
        ("attempts", "ATT"),
        ("age", "AGE"),
        ("duration", "DUR"),
        ("queue", "QUEUE"),
        ("error", "ERROR"),
    )

    def show(
        self,
        jobs: Iterable[JobSummary],
        marks: set[str],
        now: datetime,
        progress: dict[str, JobProgress] | None = None,
    ) -> None:
        progress = progress or {}
        theme = self.app.current_theme
        rows: list[Row] = []
        for j in jobs:
            error = f"{j.error_type}: {j.error_message}" if j.error_type else ""
            rows.append(
                (
                    j.id,
                    [
                        cell(MARK, theme.accent or "") if j.id in marks else " ",
                        cell(short(j.id, 12)),
                        status_cell(j.status, theme),
                        _progress(j, progress.get(j.id)),
                        cell(short(j.type, 16)),
                        cell(short(j.organization_id or "-", 12)),
                        f"{j.attempts}/{j.max_attempts}",
                        age(j.created_at, now),
                        _timing(j, now),
                        cell(j.queue),
                        cell(short(error, 200), "dim"),
                    ],
                )
            )
        self.fill(rows)


def _progress(job: JobSummary, p: JobProgress | None) -> str:
    """A running job's last reported progress: a small bar and percent, or a count without a
    total; '-' while it has reported none. Blank for jobs that are not running."""
    if job.status is not JobStatus.RUNNING:
        return ""
    if p is None:
        return cell("-", "dim")
    fraction = p.fraction
    if fraction is None:
        return cell(short(f"{p.done:g}", 10))
    return cell(f"{bar(fraction, 5)} {fraction * 100:3.0f}%")


def _timing(job: JobSummary, now: datetime) -> str:
    """Run time of a running or ended job; for a waiting one, when its next run is due."""
    if job.status is JobStatus.PENDING:
        due = job.next_attempt_at
        return age(due, now) if due is not None and due > now else "-"
    if job.status is JobStatus.RUNNING or job.finished_at is not None:
        return duration(job.started_at, job.finished_at, now)
    return "-"
