"""Retention on PostgreSQL: prune 1,000,000 old finished jobs (and their attempt rows) while a
worker runs ping jobs, and how much the worker slows down meanwhile (issue 15: < 20 %).

Seeding: one INSERT ... SELECT generate_series each for the jobs (COMPLETED, one in ten FAILED,
finished 60 to ~72 days ago) and their attempt rows, then ANALYZE. A `jobctl worker` (4 slots)
runs ping jobs that a feeder thread keeps queued (200 at a time whenever fewer than 400 wait).
Three phases, wall-clock windows: before (the worker alone), during (the retention sweep of
jobctl.scheduler.retention, as the scheduler runs it: batches of [retention] batch_size with
its pause), after (alone again). The baseline is the mean rate of before and after, so a
change of the shared machine's load over the run hits both sides; the jobs/s of each window
are counted afterwards from the jobs table, so measuring does not load the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_least

if TYPE_CHECKING:
    from jobctl.domain.retention import PruneReport

QUEUE = "analytics-sync"
CONCURRENCY = "4"

_SEED_JOBS = """
INSERT INTO jobs (id, type, queue, status, organization_id, payload, result, attempts, max_attempts,
                  created_at, started_at, finished_at, updated_at, worker)
SELECT 'old-' || g, 'ping', :queue, CASE WHEN g % 10 = 0 THEN 'FAILED' ELSE 'COMPLETED' END, 'acme',
       '{}'::jsonb, '{"pong": true}'::jsonb, 1, 4, t, t, t + interval '20 milliseconds',
       t + interval '20 milliseconds', 'bench-worker'
FROM (SELECT g, now() - interval '60 days' - g * interval '1 second' AS t
      FROM generate_series(1, :n) AS g) AS s
"""
_SEED_ATTEMPTS = """
INSERT INTO job_attempts (job_id, attempt, worker, started_at, finished_at, duration_ms, outcome)
SELECT 'old-' || g, 1, 'bench-worker', t, t + interval '20 milliseconds', 20.0, 'completed'
FROM (SELECT g, now() - interval '60 days' - g * interval '1 second' AS t
      FROM generate_series(1, :n) AS g) AS s
"""


def run(env: Env) -> Result:
    rows = env.pick(tiny=2_000, small=200_000, default=1_000_000)
    phase_s = float(env.pick(tiny=2, small=15, default=20))
    from jobctl.api import JobctlAPI

    with env.database("pg") as url:
        api = JobctlAPI(env.settings(url))
        try:
            seed_s = _seed(api, rows)
            windows, report, prune_s = _phases(env, api, url, phase_s)
            counts = [_completed(api, w) for w in windows]
            left = _left(api)
        finally:
            api.close()
    env.flush_redis()
    deleted = next(t.deleted for t in report.tables if t.table == "jobs")
    if deleted != rows or left:
        raise RuntimeError(f"the sweep deleted {deleted} of {rows} old jobs ({left} left)")
    rates = [n / _seconds(w) for n, w in zip(counts, windows, strict=True)]
    baseline = (rates[0] + rates[2]) / 2
    load = os.getloadavg()
    note = (
        f"{rows:,} old jobs + {rows:,} attempt rows pruned in {prune_s:.1f} s ({rows / prune_s:,.0f} jobs/s, "
        f"{report.tables[0].batches} batches of {report.batch_size:,}); worker {rates[0]:.0f} jobs/s before, "
        f"{rates[1]:.0f} during, {rates[2]:.0f} after; seeded in {seed_s:.0f} s; "
        f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} on {os.cpu_count()} CPUs"
    )
    extra = {"prune_s": prune_s, "rows": float(rows), "before": rates[0], "after": rates[2]}
    return Result("retention-prune-pg", rates[1], baseline, "jobs/s", [at_least(0.8)], note=note, extra=extra)


def _seed(api: Any, rows: int) -> float:
    from sqlalchemy import text

    started = time.perf_counter()
    with api.backends.engine.begin() as conn:
        conn.execute(text(_SEED_JOBS), {"n": rows, "queue": QUEUE})
        conn.execute(text(_SEED_ATTEMPTS), {"n": rows})
    from jobctl.store.engine import autocommit

    with autocommit(api.backends.engine).connect() as conn:  # ANALYZE in a rolled-back transaction is lost
        conn.execute(text("ANALYZE jobs"))
        conn.execute(text("ANALYZE job_attempts"))
    return time.perf_counter() - started


Window = tuple[datetime, datetime]


def _phases(env: Env, api: Any, url: str, phase_s: float) -> tuple[list[Window], PruneReport, float]:
    """Worker alone, worker during the sweep, worker alone: the three windows, the sweep's report
    and its seconds."""
    from jobctl.api.retention import open_sweep
    from jobctl.domain.timeparse import utcnow

    stop = threading.Event()
    feeder = threading.Thread(target=_feed, args=(api, stop), daemon=True)
    feeder.start()
    log = env.tmp / "retention-worker.log"
    worker = _start_worker(env, url, log)
    try:
        _warm_up(api, datetime.now(UTC), min(5.0, phase_s), log)
        before = _window(phase_s)
        sweep = open_sweep(api, holder="bench")
        t0 = datetime.now(UTC)
        started = time.perf_counter()
        report = sweep.run(utcnow())
        prune_s = time.perf_counter() - started
        during = (t0, datetime.now(UTC))
        after = _window(phase_s)
        if worker.poll() is not None or not feeder.is_alive():
            raise RuntimeError(f"the worker (exit {worker.poll()}) or the feeder stopped: {_tail(log)}")
    finally:
        stop.set()
        _stop(worker)
        feeder.join(10)
    return [before, during, after], report, prune_s


def _left(api: Any) -> int:
    from sqlalchemy import text

    with api.backends.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM jobs WHERE id LIKE 'old-%'")).scalar_one())


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-600:]


def _warm_up(api: Any, since: datetime, seconds: float, log: Path) -> None:
    """Until the worker has completed its first 50 jobs (it starts in seconds on a loaded
    machine), then `seconds` more: its threads and connections are up."""
    deadline = time.monotonic() + 120
    while _completed(api, (since, datetime.now(UTC))) < 50:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the worker completed no job within 120 s of its start: {_tail(log)}")
        time.sleep(0.5)
    time.sleep(seconds)


def _window(seconds: float) -> tuple[datetime, datetime]:
    start = datetime.now(UTC)
    time.sleep(seconds)
    return start, datetime.now(UTC)


def _seconds(window: tuple[datetime, datetime]) -> float:
    return (window[1] - window[0]).total_seconds()


def _completed(api: Any, window: tuple[datetime, datetime]) -> int:
    """Ping jobs of the worker that finished within `window` (a range of ix_jobs_status_finished_at)."""
    from sqlalchemy import func, select

    from jobctl.store.tables import JOBS

    c = JOBS.c
    stmt = select(func.count()).where(c.status == "COMPLETED", c.finished_at >= window[0],
                                      c.finished_at < window[1], c.finished_at.is_not(None))  # fmt: skip
    with api.backends.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def _feed(api: Any, stop: threading.Event) -> None:
    """Keep 400-600 ping jobs queued, so the worker never waits for work."""
    from rq import Queue

    from jobctl.api import EnqueueRequest

    redis = api.backends.redis
    queue = Queue(QUEUE, connection=redis)
    batch = [EnqueueRequest("ping", {}, queue=QUEUE)] * 200
    while not stop.is_set():
        if queue.count < 400:
            api.enqueue_many(batch)
        else:
            stop.wait(0.05)


def _start_worker(env: Env, url: str, path: Path) -> subprocess.Popen[bytes]:
    log = open(path, "wb")  # noqa: SIM115 - the child holds it; closed when this process ends
    command = [env.exe("jobctl"), "worker", "--queue", QUEUE, "--concurrency", CONCURRENCY, "--log-json"]
    return subprocess.Popen(command, env=env.subprocess_environ(url), stdout=log, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


BENCHMARKS = [
    Benchmark(
        "retention-prune-pg",
        "a worker's ping jobs/s while the retention sweep prunes 1,000,000 old jobs, vs before/after",
        run,
        tags=("slow",),
    ),
]
