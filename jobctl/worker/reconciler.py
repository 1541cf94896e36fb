"""The reconciler: makes RQ agree with the SQL Job table, which is the system of record.

One pass looks both ways. RQ jobs with no row (in a queue list or a scheduled registry) are
taken out and filed as failed, never run. PENDING rows whose RQ job is gone — Redis restarted
without persistence, a crash between the SQL write and the Redis push, a worker that died
between popping a job and registering it — are pushed again, exactly once however many
reconcilers run: a Lua check-and-mark per row version, a SQL re-check, then RQ's atomic unique
enqueue. Rows changed in the last `min_age_s` are left alone (their producer may be between
its two writes right now). A worker calls `run_reconciler_once` periodically; a Redis lease
makes one process across the fleet do it at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rq import Queue
from rq.job import Job
from rq.job import JobStatus as RQJobStatus
from rq.results import Result

from jobctl.queue.backends import Backends
from jobctl.queue.events import RECOVERED, event_of, publish
from jobctl.queue.lease import RedisLease
from jobctl.queue.rq_job import ENTRY_POINT, FAILURE_TTL_S, SERIALIZER, JobctlJob
from jobctl.store.reconcile_queries import PendingRef, ReconcileQueries

log = logging.getLogger("jobctl.reconciler")

ORPHAN_REASON = "jobctl: no row in the Job table; refused"
LEASE_NAME = "reconciler"
LAST_PASS_KEY = "jobctl:reconciler:last-pass"
# A row version re-enqueued by one reconciler is not touched by another for this long. It only
# has to outlive one pass's read-to-push gap (seconds); a job lost again within it waits.
MARKER_TTL_MS = 300_000

# KEYS: 1 job hash, 2 queue list, 3 intermediate list (RQ's LMOVE target), 4 scheduled zset,
# 5 started zset ("id:execution" members scored by expiry), 6 the job's executions zset.
# ARGV: 1 job id, 2 now (epoch seconds). "Present" = the hash exists and a worker or RQ's
# scheduler can still reach the job. A started entry past its expiry is a dead worker's: the
# row is still PENDING, so its runner never even claimed it (RQ would clean it up only at its
# next maintenance, up to ~10 minutes later).
_PRESENT = """
local function present()
  if redis.call('EXISTS', KEYS[1]) == 0 then return false end
  if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return true end
  if redis.call('LPOS', KEYS[2], ARGV[1]) then return true end
  if redis.call('LPOS', KEYS[3], ARGV[1]) then return true end
  for _, e in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do
    local expiry = redis.call('ZSCORE', KEYS[5], ARGV[1] .. ':' .. e)
    if expiry and tonumber(expiry) > tonumber(ARGV[2]) then return true end
  end
  return false
end
"""
# Read-only: 1 if present, else 0 (`jobctl doctor` asks without fixing anything).
_IS_PRESENT = _PRESENT + "\nif present() then return 1 end\nreturn 0\n"
# + KEYS[7] marker of this row version, ARGV[3] its TTL in ms. 1: ours to fix, 0: present,
# -1: another reconciler is fixing this very version.
_CLAIM = (
    _PRESENT
    + """
if present() then return 0 end
if redis.call('SET', KEYS[7], '1', 'NX', 'PX', ARGV[3]) then return 1 end
return -1
"""
)
# + KEYS[7..] failed/finished/canceled registries. Remove every trace of the lost job, so RQ's
# unique enqueue can create it afresh and it is listed in one place only.
_CLEAR = (
    _PRESENT
    + """
if present() then return 0 end
redis.call('DEL', KEYS[1])
redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('LREM', KEYS[3], 0, ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
for i = 7, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
for _, e in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do
  redis.call('ZREM', KEYS[5], ARGV[1] .. ':' .. e)
end
return 1
"""
)


@dataclass(frozen=True)
class ReconcileReport:
    requeued: list[str]  # PENDING rows whose RQ job was missing, now enqueued or scheduled
    orphans_failed: list[str]  # RQ jobs with no row, now in FailedJobRegistry (never run)
    checked_rows: int
    checked_rq_jobs: int
    duration_ms: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Pass:
    backends: Backends
    now: datetime
    batch: int
    keep_going: Callable[[], bool]
    max_requeue: int | None
    queries: ReconcileQueries = field(init=False)
    seen: set[str] = field(default_factory=set)  # ids found in RQ's queues and registries
    requeued: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    checked_rows: int = 0
    checked_rq_jobs: int = 0
    stop_reason: str | None = None  # the pass ended early; the next one carries on

    def __post_init__(self) -> None:
        self.queries = ReconcileQueries(self.backends.engine)
        self.redis = self.backends.redis
        self.producer = self.backends.producer
        self.claim_script = self.redis.register_script(_CLAIM)
        self.clear_script = self.redis.register_script(_CLEAR)

    # -- RQ -> SQL: every RQ job needs a row ---------------------------------------------------

    def scan_rq(self) -> None:
        configured = list(self.backends.settings.queues)
        known = [q.name for q in Queue.all(connection=self.redis, job_class=JobctlJob, serializer=SERIALIZER)]
        for name in dict.fromkeys(configured + sorted(known)):
            q = self.producer.queue(name)
            # Jobs being run are alive, not orphans (the runner refuses one with no row anyway).
            for member in self.redis.zrangebyscore(q.started_job_registry.key, time.time(), "+inf"):
                self.seen.add(_text(member).split(":", 1)[0])
            for raw in self.redis.lrange(q.intermediate_queue_key, 0, -1):
                self.seen.add(_text(raw))
            for where, page in self._pages(q):
                self.checked_rq_jobs += len(page)
                self.seen.update(page)
                missing = set(page) - self.queries.existing_ids(list(dict.fromkeys(page)))
                for job_id in sorted(missing):
                    self._fail_orphan(q, job_id, where, mine=name in configured)
                if not self.go_on():
                    return

    def go_on(self) -> bool:
        if self.stop_reason is None:
            if self.room() == 0:
                self.stop_reason = f"re-enqueued {self.max_requeue}, the most one pass may"
            elif not self.keep_going():
                self.stop_reason = "lease lost"
        return self.stop_reason is None

    def room(self) -> int | None:
        """How many more jobs this pass may re-enqueue (None: no limit)."""
        return None if self.max_requeue is None else max(0, self.max_requeue - len(self.requeued))

    def _pages(self, q: Queue) -> Iterator[tuple[str, list[str]]]:
        """The scheduled registry, then the queue list, `batch` ids at a time. Workers popping
        meanwhile shift the list: an id skipped here is seen by the next pass."""
        fetchers: tuple[tuple[str, str, Callable[[str, int, int], Any]], ...] = (
            ("scheduled", q.scheduled_job_registry.key, self.redis.zrange),
            ("queue", q.key, self.redis.lrange),
        )
        for where, key, fetch in fetchers:
            start = 0
            while True:
                page = [_text(raw) for raw in fetch(key, start, start + self.batch - 1)]
                if page:
                    yield where, page
                if len(page) < self.batch:
                    break
                start += self.batch

    def _fail_orphan(self, q: Queue, job_id: str, where: str, *, mine: bool) -> None:
        try:
            job: Job | None = JobctlJob.fetch(job_id, connection=self.redis, serializer=SERIALIZER)
        except Exception:  # no hash, or one jobctl cannot read (pickle, garbage)
            job = None
        if not mine and (job is None or not _is_jobctl_job(job)):
            return  # another application's queue and not jobctl's entry point: not ours to judge
        # Take it where no worker can find it first; only the process whose removal wins files it.
        with self.redis.pipeline() as pipe:
            pipe.lrem(q.key, 0, job_id)
            pipe.zrem(q.scheduled_job_registry.key, job_id)
            if not any(pipe.execute()):
                return  # a worker (whose runner refuses it) or another reconciler took it first
        hash_exists = job is not None or bool(self.redis.exists(JobctlJob.key_for(job_id)))
        if hash_exists:
            self._file_as_failed(q, job_id, job)
        self.orphans.append(job_id)
        log.warning(
            f"orphan RQ job {job_id} in {q.name} ({where}): no row in the Job table; "
            + ("moved to failed, not run" if hash_exists else "dangling id removed"),
            extra={"event": "orphan-rq-job", "job_id": job_id, "queue": q.name, "where": where},
        )

    def _file_as_failed(self, q: Queue, job_id: str, job: Job | None) -> None:
        registry = q.failed_job_registry
        with self.redis.pipeline() as pipe:
            if job is not None:
                job.set_status(RQJobStatus.FAILED, pipeline=pipe)
                registry.add(job, ttl=FAILURE_TTL_S, exc_string=ORPHAN_REASON, pipeline=pipe)
            else:  # unreadable hash: mark it by hand, leave its data as it is
                job = JobctlJob(job_id, connection=self.redis, serializer=SERIALIZER)
                pipe.hset(job.key, "status", RQJobStatus.FAILED.value)
                pipe.zadd(registry.key, {job_id: time.time() + FAILURE_TTL_S})
            Result.create_failure(job, FAILURE_TTL_S, ORPHAN_REASON, pipeline=pipe)
            pipe.execute()

    # -- SQL -> RQ: every PENDING row needs a reachable RQ job ---------------------------------

    def scan_rows(self, settled_before: datetime) -> None:
        after: tuple[datetime, str] | None = None
        while self.go_on():
            page = self.queries.pending_page(settled_before, after, self.batch)
            self.checked_rows += len(page)
            # Claim no more than the pass may push: a claimed row version is off limits to every
            # reconciler until its marker expires.
            suspects = [job_id for job_id, _ in page if job_id not in self.seen][: self.room()]
            if suspects:
                self._settle(self.queries.pending_refs(suspects, settled_before))
            if len(page) < self.batch:
                return
            after = page[-1][1], page[-1][0]

    def _settle(self, suspects: Sequence[PendingRef]) -> None:
        """Suspects were in no queue or registry when scanned (most jobs moved on since)."""
        if not suspects:
            return
        claimed = self._run(self.claim_script, suspects, claim=True)
        if not claimed:
            return
        # The row may have moved on while we looked at Redis (a worker ran the job): re-check.
        unchanged = self.queries.unchanged_pending(claimed)
        for row in self._run(self.clear_script, [r for r in claimed if r.id in unchanged], claim=False):
            due = row.next_attempt_at
            if not self.producer.push_unique(row.id, row.type, row.queue, due, self.now):
                continue  # someone else's unique push won
            self.requeued.append(row.id)
            back = event_of(row, RECOVERED, "PENDING", "PENDING", row.attempts, self.now)
            publish(self.producer.connection, [back])
            when = f"scheduled for {due.isoformat()}" if due and due > self.now else "queued now"
            log.warning(
                f"lost job {row.id} re-enqueued in {row.queue} ({when}): its RQ job was missing",
                extra={
                    "event": "lost-job-requeued",
                    "job_id": row.id,
                    "job_type": row.type,
                    "queue": row.queue,
                },
            )

    def _run(self, script: Any, rows: Sequence[PendingRef], *, claim: bool) -> list[PendingRef]:
        """Run _CLAIM or _CLEAR for every row in one pipeline; the rows it answered 1 for."""
        if not rows:
            return []
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            for row in rows:
                q = self.producer.queue(row.queue)
                keys = _keys(q, row.id)
                if claim:
                    marker = f"jobctl:reconcile:{row.id}:{row.version}"
                    script(keys=[*keys, marker], args=[row.id, now, MARKER_TTL_MS], client=pipe)
                else:
                    ended = [
                        r.key
                        for r in (q.failed_job_registry, q.finished_job_registry, q.canceled_job_registry)
                    ]
                    script(keys=[*keys, *ended], args=[row.id, now], client=pipe)
            answers = pipe.execute()
        return [row for row, answer in zip(rows, answers, strict=True) if answer == 1]


def present_in_rq(redis: Any, jobs: Sequence[tuple[str, Queue]], now: float) -> list[bool]:
    """For each (job id, its queue): can a worker or RQ's scheduler still reach it? The same
    atomic test a reconciler pass makes, writing nothing; one pipeline."""
    if not jobs:
        return []
    script = redis.register_script(_IS_PRESENT)
    with redis.pipeline(transaction=False) as pipe:
        for job_id, q in jobs:
            script(keys=list(_keys(q, job_id)), args=[job_id, now], client=pipe)
        return [answer == 1 for answer in pipe.execute()]


def _keys(q: Queue, job_id: str) -> tuple[str, ...]:
    return (
        JobctlJob.key_for(job_id),
        q.key,
        q.intermediate_queue_key,
        q.scheduled_job_registry.key,
        q.started_job_registry.key,
        f"rq:executions:{job_id}",
    )


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _is_jobctl_job(job: Job) -> bool:
    try:
        return bool(job.func_name == ENTRY_POINT)
    except Exception:  # data that is not JSON
        return False


def reconcile(
    backends: Backends,
    now: datetime,
    *,
    min_age_s: float = 10.0,
    batch: int = 500,
    keep_going: Callable[[], bool] | None = None,
    max_requeue: int | None = None,
) -> ReconcileReport:
    """One full pass both ways, `batch` ids per query and per Redis pipeline. `keep_going` is
    asked between batches (the lease holder passes its renewal); False stops the pass. At most
    `max_requeue` lost jobs are pushed (a pass stays short even after Redis lost 100,000)."""
    if batch < 1 or (max_requeue is not None and max_requeue < 1):
        raise ValueError("batch and max_requeue must be at least 1")
    started = time.perf_counter()
    with backends.errors():
        p = _Pass(backends, now, batch, keep_going or (lambda: True), max_requeue)
        p.scan_rq()
        p.scan_rows(now - timedelta(seconds=min_age_s))
    report = ReconcileReport(
        requeued=p.requeued,
        orphans_failed=p.orphans,
        checked_rows=p.checked_rows,
        checked_rq_jobs=p.checked_rq_jobs,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    level = logging.INFO if report.requeued or report.orphans_failed else logging.DEBUG
    log.log(
        logging.WARNING if p.stop_reason else level,
        (f"reconcile pass stopped early ({p.stop_reason}): " if p.stop_reason else "reconciled: ")
        + f"{len(report.requeued)} lost job(s) re-enqueued, {len(report.orphans_failed)} orphan RQ"
        f" job(s) failed; {report.checked_rows} rows, {report.checked_rq_jobs} RQ jobs checked",
        extra={"event": "reconcile-pass", "duration_ms": report.duration_ms},
    )
    return report


def run_reconciler_once(
    backends: Backends,
    holder: str,
    now: datetime,
    *,
    interval_s: float = 30.0,
    lease_ttl_s: float = 60.0,
    min_age_s: float = 10.0,
    batch: int = 500,
    max_requeue: int = 2000,
) -> ReconcileReport | None:
    """A pass if this process takes the "reconciler" lease and no pass ran in the last
    `interval_s` (fleet-wide); None otherwise. Call it as often as you like. A pass cut short
    by `max_requeue` (about 2 ms a job: RQ's unique enqueue is two round trips) does not count,
    so the next call carries on at once."""
    with backends.errors():
        lease = RedisLease(backends.redis, LEASE_NAME, holder, ttl_s=lease_ttl_s)
        if lease.acquire() is None:
            return None
        try:
            if interval_s > 0 and backends.redis.exists(LAST_PASS_KEY):
                return None
            report = reconcile(
                backends,
                now,
                min_age_s=min_age_s,
                batch=batch,
                keep_going=lease.renew,
                max_requeue=max_requeue,
            )
            complete = lease.token is not None and len(report.requeued) < max_requeue
            if interval_s > 0 and complete:
                backends.redis.set(LAST_PASS_KEY, now.isoformat(), px=int(interval_s * 1000))
            return report
        finally:
            lease.release()
