"""Plain records the store returns and the API hands to the CLI and TUI (no ORM objects leak)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobctl.domain.status import JobStatus


@dataclass(frozen=True)
class JobError:
    type: str
    message: str
    traceback: str | None = None


@dataclass(frozen=True)
class JobRecord:
    id: str
    type: str
    queue: str
    status: JobStatus
    organization_id: str | None
    payload: dict[str, Any]
    result: Any | None
    error: JobError | None
    attempts: int
    max_attempts: int
    schedule_id: str | None
    scheduled_for: datetime | None
    next_attempt_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    worker: str | None

    if not TYPE_CHECKING:  # hidden from mypy, which would otherwise accept any attribute name

        def __getattr__(self, name: str) -> Any:
            """A field of a deferred record (see `deferred_records`), converted on first access."""
            fields = self.__dict__.get("_fields")
            read = fields.get(name) if fields is not None else None
            if read is None:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            value = read(self.__dict__["_row"])
            object.__setattr__(self, name, value)  # frozen: set once, like __init__ would
            return value

        def __getstate__(self) -> dict[str, Any]:
            """Pickle and copy the fields (a deferred record's readers are not picklable)."""
            return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: datetimes as ISO 8601 UTC, status as its name."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
            elif isinstance(value, JobStatus):
                out[key] = value.value
            else:
                out[key] = value
        out["duration_s"] = self.duration_s
        return out


FieldReaders = Mapping[str, Callable[[Sequence[Any]], Any]]


def deferred_records(rows: Sequence[Sequence[Any]], fields: FieldReaders) -> list[JobRecord]:
    """JobRecords whose fields are read from their row on first access, by `fields[name](row)`.

    Why: converting a 50-row page eagerly (six datetimes, two JSON documents, a status, an
    error and the record a row) cost 0.19 ms against 0.09 ms for fetching it, so `jobs list`
    took 3x the raw query; a caller reads a few fields of most rows (the CLI shows eight
    columns, `len()` none). Deferred records are equal to, hash and print like eager ones: the
    dataclass methods read every field through attribute access. `fields` must name every field.
    """
    new = object.__new__
    out = []
    for row in rows:
        record = new(JobRecord)
        state = record.__dict__
        state["_row"] = row
        state["_fields"] = fields
        out.append(record)
    return out


@dataclass(frozen=True)
class NewJob:
    """A validated job ready to be written: the producer builds these, the store inserts them."""

    id: str
    type: str
    queue: str
    organization_id: str | None
    payload: dict[str, Any]
    max_attempts: int
    scheduled_for: datetime | None = None  # delayed job: not runnable before this time
    schedule_id: str | None = None


@dataclass(frozen=True)
class JobFilter:
    statuses: tuple[JobStatus, ...] = ()
    types: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    organization_id: str | None = None
    since: datetime | None = None  # created_at >= since
    schedule_id: str | None = None
    limit: int = 50
    before: tuple[datetime, str] | None = None  # keyset cursor: (created_at, id) of the last row seen


@dataclass(frozen=True)
class StatusCounts:
    counts: dict[JobStatus, int] = field(default_factory=dict)
