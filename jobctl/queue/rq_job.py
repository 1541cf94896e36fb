"""jobctl's RQ job class: Redis contents are data, never code.

RQ resolves a job's function (and its success/failure/stopped callbacks) by importing whatever
dotted name the job hash holds, so anyone who can write to Redis could make a worker import and
call any function. jobctl's workers use this class, which refuses every name but jobctl's single
entry point and refuses callbacks outright; job data is JSON, never pickle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rq.job import Job, _job_stack
from rq.serializers import JSONSerializer
from rq.utils import as_text, str_to_date

from jobctl.domain.errors import UnsafeJobError

ENTRY_POINT = "jobctl.queue.runner.execute"
ALLOWED_FUNCTIONS = frozenset({ENTRY_POINT})

# RQ keeps finished jobs' hashes this long; the SQL row is the record, so keep Redis lean.
RESULT_TTL_S = 600
# Failed jobs stay in RQ's FailedJobRegistry (and `rq info`) as long as the row says FAILED.
FAILURE_TTL_S = 365 * 24 * 3600
# No RQ-level timeout: jobctl's own leases detect hung jobs (an RQ timeout would kill
# healthy long jobs, e.g. a 300 s ping).
NO_TIMEOUT = -1


SERIALIZER = JSONSerializer

# The entry point, resolved once: RQ's import_attribute imports by dotted name for every job
# (first trying `jobctl.queue.runner` as a module, a failed search of sys.path), measured with
# py-spy at 4.8 % of the 60-slot worker's GIL time (benchmarks worker-concurrent-io).
_resolved: dict[str, Any] = {}


# The job-hash timestamps Job.restore parses with strptime (pure Python, ~20 µs each; two
# a dequeued job, ~10 % of a slot's pop): parsed here with fromisoformat (~0.5 µs) when in
# RQ's own format (utcformat: 2026-01-15T12:00:00.123456Z), the same value; else as RQ does.
_DATE_FIELDS = ("created_at", "enqueued_at", "started_at", "ended_at", "last_heartbeat")
_DATE_KEYS = [(name, name.encode()) for name in _DATE_FIELDS]


def _parse_date(value: bytes | str) -> datetime:
    text = as_text(value)
    if len(text) == 27 and text[10] == "T" and text[19] == "." and text[26] == "Z":
        try:
            return datetime.fromisoformat(text[:26]).replace(tzinfo=UTC)
        except ValueError:
            pass
    return str_to_date(text)


class JobctlJob(Job):
    """An RQ Job that only ever runs jobctl's entry point."""

    def __init__(self, id: str | None = None, connection: Any = None, serializer: Any = None) -> None:
        # RQ checks the serializer with isinstance() against a runtime-checkable Protocol: ~6 µs
        # on Python 3.11 for every job built or fetched (60 ms of a 10,000-job enqueue_many).
        # jobctl's own serializer needs no check; anything else is resolved by RQ as usual.
        if serializer is SERIALIZER:
            super().__init__(id, connection)
            self.serializer = SERIALIZER
        else:
            super().__init__(id, connection, serializer)

    def restore(self, raw_data: Any) -> Any:
        """Job.restore, its timestamps parsed by _parse_date (RQ leaves a missing or empty one
        as it does: created_at now, the others None)."""
        obj = dict(raw_data)  # keys as Redis returned them: bytes (or str when decoded)
        dates = [(name, obj.pop(key, None) or obj.pop(name, None)) for name, key in _DATE_KEYS]
        super().restore(obj)
        for name, value in dates:
            if value:
                setattr(self, name, _parse_date(value))

    def perform(self) -> Any:
        """Job.perform without its own PERSIST round trip when jobctl's worker already sent it
        in its preparation transaction (jobctl.worker.lean_worker); as RQ's otherwise."""
        if not getattr(self, "_jobctl_persisted", False):
            return super().perform()
        _job_stack.push(self)  # type: ignore[no-untyped-call]  # get_current_job() reads it
        try:
            self._result = self._execute()
        finally:
            assert self is _job_stack.pop()  # type: ignore[no-untyped-call]
        return self._result

    @property
    def func(self) -> Any:
        name = self.func_name
        if name not in ALLOWED_FUNCTIONS or self.instance is not None:
            raise UnsafeJobError(f"refusing RQ job {self.id}: function {name!r} is not jobctl's entry point")
        func = _resolved.get(name)
        if func is None:
            func = _resolved[name] = super().func
        return func

    def _refuse_callback(self, kind: str, name: str | None) -> None:
        if name:
            raise UnsafeJobError(f"refusing RQ job {self.id}: it names a {kind} callback {name!r}")

    @property
    def success_callback(self) -> Any:
        self._refuse_callback("success", self._success_callback_name)
        return None

    @property
    def failure_callback(self) -> Any:
        self._refuse_callback("failure", self._failure_callback_name)
        return None

    @property
    def stopped_callback(self) -> Any:
        self._refuse_callback("stopped", self._stopped_callback_name)
        return None


def cancel_key(job_id: str) -> str:
    """Set (with a TTL) when an operator cancels a RUNNING job; workers poll it to stop the job."""
    return f"jobctl:cancel:{job_id}"


CANCEL_KEY_TTL_S = 3600
