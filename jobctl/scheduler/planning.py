"""Which tick of a schedule is due now, and what to do with it: pure, `now` is an argument.

Catch-up never bursts: of all the ticks in (since, now], only the most recent is considered.
It fires when it is on time (within `grace` of its fire time, the normal case while a
scheduler runs) or when the schedule's policy is `latest`; under `none` a late tick is
recorded as missed instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jobctl.domain.schedules import CatchUp, FiringOutcome
from jobctl.scheduler.cron import CronSchedule

DEFAULT_GRACE = timedelta(seconds=60)
MISSED_COUNT_CAP = 1000  # counting missed ticks is for the log line; a month of seconds is not walked


@dataclass(frozen=True)
class Due:
    fire_time: datetime
    outcome: FiringOutcome  # ENQUEUED (fire it) or MISSED (record it, fire nothing)
    passed_over: int  # earlier ticks in (since, fire_time) that were not fired (capped)
    late: timedelta  # now - fire_time

    @property
    def reason(self) -> str | None:
        """Why this firing is not an ordinary on-time one (for the firing record), if it is not."""
        over = f"{self.passed_over}+" if self.passed_over >= MISSED_COUNT_CAP else str(self.passed_over)
        late = f"{self.late.total_seconds():.0f}s late"
        if self.outcome == FiringOutcome.MISSED:
            return f"{late} after downtime; catch-up policy none"
        if self.passed_over:
            return f"catch-up after downtime ({late}); {over} earlier tick(s) not fired"
        return None


@dataclass(frozen=True)
class Plan:
    due: Due | None  # the tick to handle now, if any
    next_at: datetime  # the first tick after the one handled now (or after `since`)


def plan(
    cron: CronSchedule,
    since: datetime,
    now: datetime,
    catch_up: CatchUp,
    *,
    grace: timedelta = DEFAULT_GRACE,
    first: datetime | None = None,
) -> Plan:
    """Plan one schedule: ticks strictly after `since` (its last handled tick, or when it became
    active) up to `now`. `first` is cron.next_after(since) when the caller has it cached."""
    first = first if first is not None else cron.next_after(since)
    if first > now:
        return Plan(None, first)
    latest = cron.latest_at_or_before(now, since) or first
    late = now - latest
    on_time = late <= grace
    outcome = FiringOutcome.ENQUEUED if on_time or catch_up == CatchUp.LATEST else FiringOutcome.MISSED
    passed_over = cron.count_between(since, latest, MISSED_COUNT_CAP) if latest != first else 0
    return Plan(Due(latest, outcome, passed_over, late), cron.next_after(latest))
