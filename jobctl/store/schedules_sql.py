"""The SQL of ScheduleRepository: column lists, statements built once, row -> record mapping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, select

from jobctl.domain.schedules import CatchUp, FiringOutcome, FiringRecord, ScheduleRecord
from jobctl.domain.status import JobStatus
from jobctl.store.schedule_tables import FIRINGS, SCHEDULES
from jobctl.store.tables import JOBS, UTCDateTime

s, f, j = SCHEDULES.c, FIRINGS.c, JOBS.c
_STATUSES = frozenset(x.value for x in JobStatus)

SCHEDULE_COLUMNS = (
    s.id, s.name, s.job_type, s.cron, s.payload, s.organization_id, s.queue, s.timezone, s.enabled,
    s.catch_up, s.owner_kind, s.owner_id, s.template, s.active_since, s.last_tick_at,
    s.last_fired_at, s.last_job_id, j.status, s.skip_count, s.last_skipped_at, s.created_at,
    s.updated_at,
)  # fmt: skip
FIRING_COLUMNS = (
    f.schedule_id, f.fire_time, f.outcome, f.job_id, f.reason, f.manual, f.recorded_at,
    f.recorded_by, f.token, j.status,
)  # fmt: skip

# Definition columns: what `install-defaults` compares and rewrites.
DEFINITION = ("job_type", "cron", "timezone", "payload", "organization_id", "queue", "catch_up")


def _status(value: str | None) -> JobStatus | None:
    return JobStatus(value) if value in _STATUSES else None


def select_schedules() -> Select[Any]:
    """Schedules with their last job's status (LEFT JOIN on the jobs primary key)."""
    joined = SCHEDULES.outerjoin(JOBS, j.id == s.last_job_id)
    return select(*SCHEDULE_COLUMNS).select_from(joined)


def select_firings() -> Select[Any]:
    joined = FIRINGS.outerjoin(JOBS, j.id == f.job_id)
    return select(*FIRING_COLUMNS).select_from(joined)


def to_schedule(row: Sequence[Any]) -> ScheduleRecord:
    (id_, name, job_type, cron, payload, org, queue, tz, enabled, catch_up, owner_kind, owner_id,
     template, active_since, last_tick, last_fired, last_job, last_status, skips, last_skipped,
     created, updated) = row  # fmt: skip
    return ScheduleRecord(
        id=id_, name=name, job_type=job_type, cron=cron, payload=payload, organization_id=org,
        queue=queue, timezone=tz, enabled=bool(enabled), catch_up=CatchUp(catch_up),
        owner_kind=owner_kind, owner_id=owner_id, template=template, active_since=active_since,
        last_tick_at=last_tick, last_fired_at=last_fired, last_job_id=last_job,
        last_job_status=_status(last_status), skip_count=int(skips), last_skipped_at=last_skipped,
        created_at=created, updated_at=updated,
    )  # fmt: skip


def to_firing(row: Sequence[Any]) -> FiringRecord:
    schedule_id, fire_time, outcome, job_id, reason, manual, recorded_at, by, token, status = row
    return FiringRecord(
        schedule_id=schedule_id, fire_time=fire_time, outcome=FiringOutcome(outcome), job_id=job_id,
        reason=reason, manual=bool(manual), recorded_at=recorded_at, recorded_by=by,
        token=int(token) if token is not None else None, job_status=_status(status),
    )  # fmt: skip


# Enqueued firings whose job was never written: the scheduler stopped (or an outage hit)
# between recording the firing and writing the job. Enqueueing is idempotent by id, so the
# repair simply enqueues them again. (Not "no job row": an operator may delete old jobs.)
ORPHANS = (
    select(f.schedule_id, f.fire_time, f.job_id)
    .where(
        and_(
            f.recorded_at >= bindparam("p_since", type_=UTCDateTime()),
            f.recorded_at <= bindparam("p_settled", type_=UTCDateTime()),
            f.outcome == FiringOutcome.ENQUEUED.value,
            f.job_written.is_(False),
        )
    )
    .order_by(f.recorded_at)
)
