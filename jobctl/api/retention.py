"""Retention for the CLI and the scheduler: `jobctl db prune [--dry-run]`, and the sweep every
`jobctl scheduler` process runs hourly (jobctl.scheduler.retention has the how and why).

A prune by hand that deleted something writes one audit row (`db.prune`: who, the windows, how
many rows per table), like the other bulk actions; a dry run writes nothing. The scheduler's
hourly sweeps log a line instead (an audit row an hour would crowd out the operators' own).
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

from jobctl.domain.audit import NewAuditEntry
from jobctl.domain.retention import PruneReport
from jobctl.domain.timeparse import utcnow

if TYPE_CHECKING:
    from datetime import datetime

    from redis import Redis

    from jobctl.api.jobs import JobctlAPI
    from jobctl.scheduler.retention import RetentionSweep

PRUNE = "db.prune"


def holder_name() -> str:
    return f"{socket.gethostname()}.{os.getpid()}"


def open_sweep(api: JobctlAPI, redis: Redis | None = None, holder: str | None = None) -> RetentionSweep:
    """A sweep over the API's database and Redis (or `redis`: the scheduler passes its lease
    connection, which has a socket timeout)."""
    from jobctl.scheduler.retention import RetentionSweep
    from jobctl.store.retention_queries import RetentionQueries

    with api.backends.errors():
        queries = RetentionQueries(api.backends.engine)
        connection = redis if redis is not None else api.backends.redis
    return RetentionSweep(queries, connection, api.settings.retention, holder or holder_name())


def prune(api: JobctlAPI, *, dry_run: bool = False, now: datetime | None = None) -> PruneReport:
    """One sweep now (by hand). Raises SweepBusyError if another process is sweeping."""
    from jobctl.api.bulk import BulkAPI, current_actor

    sweep = open_sweep(api)
    with api.backends.errors():
        report = sweep.run(now or utcnow(), dry_run=dry_run)
    if not dry_run and report.deleted:
        windows = {t.table: t.days for t in report.tables}
        detail = {"tables": [t.to_json() for t in report.tables], "stopped": report.stopped}
        BulkAPI(api).record(NewAuditEntry(current_actor(), PRUNE, {"days": windows}, report.deleted, detail))
    return report
