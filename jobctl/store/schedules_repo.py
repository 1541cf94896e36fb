"""ScheduleRepository: schedules, their firings and the scheduler leader's fence, in SQLAlchemy Core.

Exactly-once firing rests on two things here, both inside one transaction per tick:
- the primary key (schedule_id, fire_time) of `schedule_firings`: a tick is recorded once,
  whatever the number of scheduler processes (INSERT ... ON CONFLICT DO NOTHING);
- the fence: a write carries the leader's fencing token and is refused when a larger token
  was already written, so a leader that was paused past its lease cannot act on stale plans.

Every method turns database outages into DatabaseUnavailableError (masked URL).
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from jobctl.domain.errors import InvalidInputError
from jobctl.domain.schedules import (
    ClaimResult,
    FiringOutcome,
    FiringRecord,
    NewSchedule,
    ScheduleRecord,
)
from jobctl.domain.status import JobStatus
from jobctl.store import schedules_sql as q
from jobctl.store.db_errors import database_errors, translated
from jobctl.store.engine import SQLITE_IMMEDIATE, autocommit, engine_label
from jobctl.store.record_rows import utc
from jobctl.store.schedule_tables import FENCE, FIRINGS, SCHEDULES
from jobctl.store.tables import JOBS

P = ParamSpec("P")
R = TypeVar("R")
s, f = SCHEDULES.c, FIRINGS.c
_ACTIVE = (JobStatus.PENDING.value, JobStatus.RUNNING.value)



class ScheduleRepository:
    """The scheduler's tables over one Engine (thread-safe: each call checks out a connection)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._auto = autocommit(engine)
        self._pg = engine.dialect.name == "postgresql"
        self._label = engine_label(engine)
        self._db_errors = database_errors()
        self._insert = postgresql.insert if self._pg else sqlite.insert

    def _transaction(self) -> Any:
        return self._engine.connect().execution_options(**{SQLITE_IMMEDIATE: True})

    # -- schedules ---------------------------------------------------------------------------

    @translated
    def insert(self, new: NewSchedule, now: datetime) -> ScheduleRecord:
        """Write a new schedule; InvalidInputError if its name is taken."""
        stmt = self._insert(SCHEDULES).on_conflict_do_nothing().returning(s.id)
        with self._auto.connect() as conn:
            created = conn.execute(stmt, self._row(new, now)).first()
        if created is None:
            raise InvalidInputError(f"a schedule named {new.name!r} already exists")
        record = self.get(new.id)
        assert record is not None
        return record

    @staticmethod
    def _row(new: NewSchedule, now: datetime) -> dict[str, Any]:
        now = utc(now)
        return {
            "id": new.id, "name": new.name, "job_type": new.job_type, "cron": new.cron,
            "timezone": new.timezone, "payload": new.payload, "organization_id": new.organization_id,
            "queue": new.queue, "enabled": new.enabled, "catch_up": new.catch_up.value,
            "owner_kind": new.owner_kind, "owner_id": new.owner_id, "template": new.template,
            "active_since": now, "skip_count": 0, "created_at": now, "updated_at": now,
        }  # fmt: skip

    @translated
    def redefine(self, schedule_id: str, new: NewSchedule, now: datetime) -> bool:
        """Rewrite a schedule's definition (type, cron, zone, payload, org, queue, catch-up).

        Ticks are counted afresh from `now`, so a changed cron does not fire a past tick.
        """
        row = self._row(new, now)
        values = {k: row[k] for k in q.DEFINITION}
        values.update(active_since=row["active_since"], updated_at=row["updated_at"])
        with self._auto.connect() as conn:
            return conn.execute(update(SCHEDULES).where(s.id == schedule_id).values(values)).rowcount == 1

    @translated
    def get(self, schedule_id: str) -> ScheduleRecord | None:
        with self._auto.connect() as conn:
            row = conn.execute(q.select_schedules().where(s.id == schedule_id)).first()
        return q.to_schedule(row) if row is not None else None

    @translated
    def get_by_name(self, name: str) -> ScheduleRecord | None:
        with self._auto.connect() as conn:
            row = conn.execute(q.select_schedules().where(s.name == name)).first()
        return q.to_schedule(row) if row is not None else None

    @translated
    def list(
        self, *, enabled_only: bool = False, owner: tuple[str, str] | None = None
    ) -> builtins.list[ScheduleRecord]:
        """Schedules by name; `owner` = (kind, id) selects the defaults made for one owner."""
        stmt = q.select_schedules().order_by(s.name)
        if enabled_only:
            stmt = stmt.where(s.enabled.is_(True))
        if owner is not None:
            stmt = stmt.where(s.owner_kind == owner[0], s.owner_id == owner[1])
        with self._auto.connect() as conn:
            return [q.to_schedule(row) for row in conn.execute(stmt)]

    @translated
    def set_enabled(self, schedule_id: str, enabled: bool, now: datetime) -> bool:
        """Pause or resume; resuming counts ticks from now (a pause is not downtime to catch up)."""
        values: dict[str, Any] = {"enabled": enabled, "updated_at": utc(now)}
        stmt = update(SCHEDULES).where(s.id == schedule_id)
        if enabled:
            values["active_since"] = utc(now)
            stmt = stmt.where(s.enabled.is_(False))
        with self._auto.connect() as conn:
            return conn.execute(stmt.values(values)).rowcount == 1

    @translated
    def delete(self, schedule_id: str) -> bool:
        """Remove a schedule and its firing history (its jobs stay in the jobs table)."""
        with self._transaction() as conn, conn.begin():
            conn.execute(delete(FIRINGS).where(f.schedule_id == schedule_id))
            return bool(conn.execute(delete(SCHEDULES).where(s.id == schedule_id)).rowcount == 1)

    # -- firings -----------------------------------------------------------------------------

    @translated
    def claim_tick(
        self,
        schedule_id: str,
        fire_time: datetime,
        *,
        job_id: str | None,
        now: datetime,
        outcome: FiringOutcome = FiringOutcome.ENQUEUED,
        reason: str | None = None,
        token: int | None = None,
        holder: str | None = None,
        manual: bool = False,
        fence: str = "scheduler",
    ) -> tuple[ClaimResult, str | None]:
        """Record the outcome of one tick, once; return what happened and why (for skips).

        An ENQUEUED claim becomes SKIPPED when the schedule's previous job is still PENDING or
        RUNNING. Scheduler claims carry `token`; manual triggers (`manual`) carry none, are not
        skipped and do not count as the cron tick.
        """
        if token is None and not manual:
            raise ValueError("a scheduler's claim needs its fencing token")
        fire_time, now = utc(fire_time), utc(now)
        with self._transaction() as conn, conn.begin():
            if token is not None and not self._pass_fence(conn, fence, token, holder or "?", now):
                return ClaimResult.FENCED, None
            current = select(s.enabled, s.last_job_id, s.last_tick_at).where(s.id == schedule_id)
            row = conn.execute(current.with_for_update() if self._pg else current).first()
            if row is None or not (row.enabled or manual):
                return ClaimResult.INACTIVE, None
            if not manual and row.last_tick_at is not None and fire_time <= row.last_tick_at:
                return ClaimResult.DUPLICATE, None  # a later tick was handled: time never runs back
            if outcome == FiringOutcome.ENQUEUED and not manual and row.last_job_id:
                status = conn.execute(select(JOBS.c.status).where(JOBS.c.id == row.last_job_id)).scalar()
                if status in _ACTIVE:
                    outcome, job_id = FiringOutcome.SKIPPED, None
                    reason = f"previous job {row.last_job_id} is still {status}"
            values = {
                "schedule_id": schedule_id, "fire_time": fire_time, "outcome": outcome.value,
                "job_id": job_id, "reason": reason, "manual": manual, "token": token, "job_written": False,
                "recorded_by": holder, "recorded_at": now,
            }  # fmt: skip
            stmt = self._insert(FIRINGS).on_conflict_do_nothing(index_elements=[f.schedule_id, f.fire_time])
            inserted = conn.execute(stmt.returning(f.schedule_id), values).first() is not None
            self._advance(
                conn, schedule_id, fire_time=fire_time, outcome=outcome if inserted else None,
                job_id=job_id, manual=manual,
            )  # fmt: skip
        if not inserted:
            return ClaimResult.DUPLICATE, None
        return (ClaimResult.SKIPPED if outcome == FiringOutcome.SKIPPED else ClaimResult.CLAIMED), reason

    def _pass_fence(self, conn: Connection, name: str, token: int, holder: str, now: datetime) -> bool:
        """Raise the fence to `token`; False if a larger token was already written."""
        stmt = self._insert(FENCE).values(name=name, token=token, holder=holder, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[FENCE.c.name],
            set_={"token": stmt.excluded.token, "holder": stmt.excluded.holder, "updated_at": now},
            where=FENCE.c.token <= stmt.excluded.token,
        )
        return conn.execute(stmt.returning(FENCE.c.token)).first() is not None

    @staticmethod
    def _advance(
        conn: Connection,
        schedule_id: str,
        *,
        fire_time: datetime,
        outcome: FiringOutcome | None,
        job_id: str | None,
        manual: bool,
    ) -> None:
        values: dict[str, Any] = {}
        if not manual:  # a cron tick, even a duplicate one, is handled up to here
            values["last_tick_at"] = fire_time
        if outcome == FiringOutcome.ENQUEUED:
            values.update(last_fired_at=fire_time, last_job_id=job_id)
        elif outcome == FiringOutcome.SKIPPED:
            values.update(skip_count=s.skip_count + 1, last_skipped_at=fire_time)
        if values:
            stmt = update(SCHEDULES).where(s.id == schedule_id)
            if not manual:
                stmt = stmt.where((s.last_tick_at.is_(None)) | (s.last_tick_at < fire_time))
            conn.execute(stmt.values(values))

    @translated
    def set_firing_outcome(
        self, schedule_id: str, fire_time: datetime, outcome: FiringOutcome, reason: str | None
    ) -> None:
        """Correct a recorded firing (an enqueue that failed for good becomes ERROR)."""
        stmt = (
            update(FIRINGS)
            .where(f.schedule_id == schedule_id, f.fire_time == utc(fire_time))
            .values(outcome=outcome.value, reason=reason)
        )
        with self._auto.connect() as conn:
            conn.execute(stmt)

    @translated
    def mark_written(self, schedule_id: str, fire_time: datetime) -> None:
        """The firing's job row exists now (the repair pass leaves it alone)."""
        stmt = (
            update(FIRINGS)
            .where(f.schedule_id == schedule_id, f.fire_time == utc(fire_time))
            .values(job_written=True)
        )
        with self._auto.connect() as conn:
            conn.execute(stmt)

    @translated
    def firing(self, schedule_id: str, fire_time: datetime) -> FiringRecord | None:
        stmt = q.select_firings().where(f.schedule_id == schedule_id, f.fire_time == utc(fire_time))
        with self._auto.connect() as conn:
            row = conn.execute(stmt).first()
        return q.to_firing(row) if row is not None else None

    @translated
    def history(self, schedule_id: str, limit: int = 20) -> builtins.list[FiringRecord]:
        """The schedule's firings, newest first, each with its job's current status."""
        stmt = q.select_firings().where(f.schedule_id == schedule_id).order_by(f.fire_time.desc())
        with self._auto.connect() as conn:
            return [q.to_firing(row) for row in conn.execute(stmt.limit(limit))]

    @translated
    def orphan_firings(self, since: datetime, settled: datetime) -> builtins.list[tuple[str, datetime, str]]:
        """(schedule_id, fire_time, job_id) of firings recorded in [since, settled] as enqueued
        whose job was never written (see mark_written)."""
        params = {"p_since": utc(since), "p_settled": utc(settled)}
        with self._auto.connect() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(q.ORPHANS, params)]

    @translated
    def fence_token(self, name: str = "scheduler") -> int | None:
        with self._auto.connect() as conn:
            value = conn.execute(select(FENCE.c.token).where(FENCE.c.name == name)).scalar()
        return int(value) if value is not None else None
