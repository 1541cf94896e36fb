"""JobctlJob.restore reads a job hash exactly as RQ's Job.restore does (its timestamps are
parsed by a faster path, which must give the same values)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

from redis import Redis
from rq.job import Job
from rq.utils import utcformat

from jobctl.queue.rq_job import SERIALIZER, JobctlJob

STAMPS = [
    datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
    datetime(2026, 1, 15, 12, 0, 0, 7, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


def _hash(**dates: bytes) -> dict[bytes, bytes]:
    data = zlib.compress(SERIALIZER.dumps(("jobctl.queue.runner.execute", None, ["job-1"], {})))
    base = {b"data": data, b"origin": b"analytics-sync", b"status": b"queued", b"timeout": b"-1"}
    return {**base, **{k.encode(): v for k, v in dates.items()}}


def _restored(cls: type[Job], raw: dict[bytes, bytes]) -> Job:
    job = cls("job-1", connection=Redis(), serializer=SERIALIZER)  # restore sends no command
    job.restore(raw)
    return job


def test_timestamps_in_rqs_format_restore_to_the_same_values() -> None:
    for stamp in STAMPS:
        text = utcformat(stamp).encode()
        raw = _hash(created_at=text, enqueued_at=text, started_at=text, ended_at=text, last_heartbeat=text)
        ours, rqs = _restored(JobctlJob, raw), _restored(Job, raw)
        for name in ("created_at", "enqueued_at", "started_at", "ended_at", "last_heartbeat"):
            assert getattr(ours, name) == getattr(rqs, name) == stamp
            assert repr(getattr(ours, name)) == repr(getattr(rqs, name))
        assert (ours.origin, ours.get_status(refresh=False), ours.timeout) == (
            rqs.origin,
            rqs.get_status(refresh=False),
            rqs.timeout,
        )


def test_other_formats_and_missing_timestamps_are_left_to_rq() -> None:
    old_format = _restored(JobctlJob, _hash(created_at=b"2026-01-15T12:00:00Z", enqueued_at=b""))
    assert old_format.created_at == datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert old_format.enqueued_at is None and old_format.started_at is None
    missing = _restored(JobctlJob, _hash())
    assert missing.created_at is not None and missing.last_heartbeat is None
