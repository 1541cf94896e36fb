"""The start page: queues, total throughput, workers; warnings for unattended queues, for
context sources that turned UNHEALTHY (their scheduled syncs stop until someone acts) and for
social accounts in NEEDS_REAUTH (their publishing and syncs fail until someone reconnects them)."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Sparkline, Static

from jobctl.api.dashboard import FAILURE_BADGE_CAP, THROUGHPUT_MINUTES, QueueRow, WorkerRow
from jobctl.tui.overview.queues_table import QueuesTable
from jobctl.tui.overview.workers_table import WorkersTable


class OverviewView(Vertical):
    def compose(self) -> ComposeResult:
        yield Label("QUEUES", classes="section")
        yield QueuesTable(id="queues-table")
        yield Static("", id="queue-warnings")
        yield Label("", id="throughput-label", classes="section")
        yield Sparkline([0] * THROUGHPUT_MINUTES, id="throughput")
        yield Label("WORKERS", id="workers-label", classes="section")
        yield WorkersTable(id="overview-workers")

    def show(
        self,
        rows: list[QueueRow],
        workers: list[WorkerRow] | None,
        now: datetime,
        unhealthy_sources: int | None = None,
        reauth_accounts: int | None = None,
    ) -> None:
        """`unhealthy_sources`, `reauth_accounts`: None while the database has not answered
        (no line then)."""
        self.query_one(QueuesTable).show(rows)
        warnings = [
            f"⚠ {q.name}: {(q.queued or 0) + (q.scheduled or 0):,} job(s) waiting and no live worker"
            for q in rows
            if q.unattended and not q.paused
        ]
        warnings += [
            f"⏸ {q.name} is PAUSED: {q.queued or 0:,} job(s) wait (`jobctl queues resume {q.name}`)"
            for q in rows
            if q.paused
        ]
        if unhealthy_sources:
            count = _count(unhealthy_sources)
            # Short enough for 80 columns; `jobctl doctor` names them and says what to do.
            warnings.append(f"⚠ {count} context source(s) UNHEALTHY, syncs paused: see `jobctl doctor`")
        if reauth_accounts:
            count = _count(reauth_accounts)
            warnings.append(f"⚠ {count} social account(s) NEEDS_REAUTH: `jobctl accounts reauth-needed`")
        box = self.query_one("#queue-warnings", Static)
        box.update("\n".join(warnings))
        box.display = bool(warnings)
        if rows and rows[0].completed_1h is not None:
            total = [sum(q.throughput[i] for q in rows) for i in range(THROUGHPUT_MINUTES)]
            self.query_one(Sparkline).data = total
            self.query_one("#throughput-label", Label).update(
                f"FINISHED PER MINUTE, LAST {THROUGHPUT_MINUTES} MIN: {sum(total):,} "
                f"(peak {max(total):,}/min)"
            )
        if workers is not None:
            stale = sum(1 for w in workers if w.stale)
            self.query_one("#workers-label", Label).update(
                f"WORKERS {len(workers)}" + (f" ({stale} stale)" if stale else "")
            )
            self.query_one(WorkersTable).show(workers, now)


def _count(n: int) -> str:
    return f"{FAILURE_BADGE_CAP - 1:,}+" if n >= FAILURE_BADGE_CAP else f"{n:,}"
