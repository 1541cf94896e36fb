"""What an action applies to, counted before the operator confirms, then carried out.

A target is either explicit ids (the current row, the marked rows) or searches (everything
matching the filter, or failed groups). Searches are narrowed to the statuses the action
applies to and bounded by created_at <= the moment they were counted, so the count in the
confirmation is what will be done — jobs created afterwards are not swept in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from jobctl.api.dashboard import Action, BulkReport, Dashboard, JobSearch
from jobctl.domain.audit import ids_filter
from jobctl.domain.status import JobStatus


@dataclass(frozen=True)
class Target:
    description: str  # "job 3f2a…", "3 marked jobs", "jobs matching `status:failed`"
    ids: tuple[tuple[str, JobStatus], ...] = ()  # (id, status when last seen)
    searches: tuple[JobSearch, ...] = ()

    def bounded(self, action: Action, now: datetime) -> Target:
        """Ids the action applies to (by their last known status); searches narrowed and bounded."""
        ids = tuple((i, s) for i, s in self.ids if s in action.applies_to)
        searches = tuple(replace(action.narrowed(s), created_until=now) for s in self.searches)
        return replace(self, ids=ids, searches=searches)

    def count(self, dash: Dashboard) -> int:
        return len(self.ids) + sum(dash.count(s) for s in self.searches)

    def audit_filter(self) -> dict[str, Any] | None:
        """What the audit row records for an action on several jobs (None for one job)."""
        if len(self.ids) < 2 and not self.searches:
            return None
        out: dict[str, Any] = {"description": self.description}
        if self.ids:
            out |= ids_filter([i for i, _ in self.ids])
        return out

    def job_ids(self, dash: Dashboard) -> Iterator[str]:
        yield from (i for i, _ in self.ids)
        for search in self.searches:
            yield from dash.matching_ids(search)


def carry_out(
    dash: Dashboard,
    action: Action,
    target: Target,
    *,
    progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> BulkReport:
    audit = target.audit_filter()
    return dash.bulk(action, target.job_ids(dash), progress=progress, stop=stop, audit=audit)


VERB = {Action.RETRY: "Retry", Action.CANCEL: "Cancel", Action.DELETE: "Delete"}
EFFECT = {
    Action.RETRY: "They go back to their queues with a fresh retry budget.",
    Action.CANCEL: "Waiting jobs leave their queues; running jobs are stopped by their workers.",
    Action.DELETE: "Their rows and Redis entries are removed for good. This cannot be undone.",
}


def confirmation(action: Action, target: Target, n: int, skipped: int) -> tuple[str, str]:
    """(title, body) of the confirmation: the count first, then what it means."""
    title = f"{VERB[action]} {n:,} job{'s' if n != 1 else ''}?"
    applies = "/".join(s.value for s in action.applies_to)
    body = f"{target.description}: the {applies} ones.\n{EFFECT[action]}"
    if skipped:
        body += f"\n{skipped} marked job(s) in other states are left alone."
    return title, body
