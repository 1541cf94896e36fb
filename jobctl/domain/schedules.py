"""Schedules: the records the store returns for cron schedules and their firings, and the
rules for their names and ids.

A schedule id is part of every firing's RQ job id (`{job-type}-{schedule-id}-{fire-epoch}`),
so it uses RQ's id alphabet only; a schedule name is what operators type, so it is kept free
of spaces and shell-special characters.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from jobctl.domain.errors import ExitCode, InvalidInputError, JobctlError
from jobctl.domain.job_types import JOB_ID_RE
from jobctl.domain.status import JobStatus


class CatchUp(StrEnum):
    """What a schedule does with ticks missed while no scheduler ran."""

    LATEST = "latest"  # fire the most recent missed tick once (never a burst)
    NONE = "none"  # fire nothing late; the next on-time tick fires as usual


class FiringOutcome(StrEnum):
    """What happened to one tick of a schedule (exactly one outcome per tick)."""

    ENQUEUED = "enqueued"
    SKIPPED = "skipped"  # the schedule's previous job was still PENDING or RUNNING
    MISSED = "missed"  # a late tick under catch-up `none`
    ERROR = "error"  # the job could not be enqueued (e.g. its processor is not installed)


class ClaimResult(StrEnum):
    """The store's answer when a scheduler claims a tick."""

    CLAIMED = "claimed"  # recorded as the outcome asked for: go ahead
    SKIPPED = "skipped"  # recorded as skipped: the previous job is still active
    DUPLICATE = "duplicate"  # this tick was already handled (by this or another scheduler)
    FENCED = "fenced"  # a newer scheduler leader exists: this one must stop acting
    INACTIVE = "inactive"  # the schedule was paused or removed meanwhile


class ScheduleNotFoundError(JobctlError):
    title = "schedule not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no schedule named {name!r} (see `jobctl schedules list`)")


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,199}$")


def check_schedule_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise InvalidInputError(
            f"invalid schedule name {name!r}: 1-200 characters from A-Z a-z 0-9 _ . : @ / -, "
            "starting with a letter or digit"
        )
    return name


def new_schedule_id() -> str:
    """A fresh opaque id: re-creating a schedule under the same name never reuses old job ids."""
    return uuid.uuid4().hex[:12]


def firing_job_id(job_type: str, schedule_id: str, fire_time: datetime) -> str:
    """The deterministic job id of one tick: the same tick always yields the same id."""
    job_id = f"{job_type}-{schedule_id}-{int(fire_time.timestamp())}"
    if not JOB_ID_RE.fullmatch(job_id):
        raise InvalidInputError(f"job type {job_type!r} and schedule id {schedule_id!r} make no valid job id")
    return job_id


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in data.items()}


@dataclass(frozen=True)
class NewSchedule:
    """A validated schedule ready to be written (the API validates; the store inserts)."""

    id: str
    name: str
    job_type: str
    cron: str
    payload: dict[str, Any]
    organization_id: str | None = None
    queue: str | None = None  # None: the job type's own queue
    timezone: str = "UTC"
    enabled: bool = True
    catch_up: CatchUp = CatchUp.LATEST
    owner_kind: str | None = None  # set for default schedules: what they belong to
    owner_id: str | None = None
    template: str | None = None  # the default template that made it


@dataclass(frozen=True)
class ScheduleRecord:
    id: str
    name: str
    job_type: str
    cron: str
    payload: dict[str, Any]
    organization_id: str | None
    queue: str | None
    timezone: str
    enabled: bool
    catch_up: CatchUp
    owner_kind: str | None
    owner_id: str | None
    template: str | None
    active_since: datetime  # ticks before this are never fired (creation or last resume)
    last_tick_at: datetime | None  # the latest cron tick handled, whatever its outcome
    last_fired_at: datetime | None  # fire time of the latest job enqueued
    last_job_id: str | None
    last_job_status: JobStatus | None  # None when no job or its row is gone
    skip_count: int
    last_skipped_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        out = _jsonable(asdict(self))
        out["catch_up"] = self.catch_up.value
        out["last_job_status"] = self.last_job_status.value if self.last_job_status else None
        return out


@dataclass(frozen=True)
class FiringRecord:
    """One handled tick (or manual trigger) of a schedule, with its job's current status."""

    schedule_id: str
    fire_time: datetime
    outcome: FiringOutcome
    job_id: str | None
    reason: str | None
    manual: bool
    recorded_at: datetime
    recorded_by: str | None
    token: int | None  # the scheduler leader's fencing token (None for manual triggers)
    job_status: JobStatus | None

    def to_json(self) -> dict[str, Any]:
        out = _jsonable(asdict(self))
        out["outcome"] = self.outcome.value
        out["job_status"] = self.job_status.value if self.job_status else None
        return out
