"""`jobctl top`'s data refresh on PostgreSQL: 1,000,000 jobs in the table, 100,000 queued.

One refresh is what the dashboard fetches every cycle: RQ's per-queue counts and workers
(Redis), the last hour's throughput and new failures (SQL), and the latest failed jobs page
(100 rows, SQL), through jobctl.api.dashboard. No baseline: the target is absolute. The table
is the jobs-list benchmark's (its PENDING 10 % are the queued jobs, pushed into RQ here).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import timedelta

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_most_abs
from benchmarks.jobs_list import filled

_PUSH_CHUNK = 5_000


def run(env: Env) -> Result:
    from sqlalchemy import select

    from jobctl.api import JobctlAPI
    from jobctl.api.dashboard import Dashboard, parse_filter
    from jobctl.domain.records import NewJob
    from jobctl.domain.timeparse import utcnow
    from jobctl.store.tables import JOBS

    url, rows = env.kept("jobs-pg", lambda: filled(env, "pg"))
    repeat = env.pick(tiny=5, small=30, default=50)
    env.flush_redis()
    api = JobctlAPI(env.settings(url))
    try:
        c = JOBS.c
        with api.backends.engine.connect() as conn:
            pending = conn.execute(select(c.id, c.queue).where(c.status == "PENDING")).all()
        now = utcnow()
        for start in range(0, len(pending), _PUSH_CHUNK):
            api.backends.producer.push(
                [NewJob(i, "ping", q, None, {}, 4) for i, q in pending[start : start + _PUSH_CHUNK]], now
            )
        dash = Dashboard(api)
        search = parse_filter("status:failed", now)
        seen = now - timedelta(hours=1)
        parts: dict[str, list[float]] = {"redis": [], "last hour": [], "failed page": []}
        totals: list[float] = []

        def timed(name: str, fn: Callable[[], object]) -> None:
            t0 = time.perf_counter()
            fn()
            parts[name].append((time.perf_counter() - t0) * 1000)

        for i in range(repeat + 3):
            begun = time.perf_counter()
            timed("redis", dash.queue_activity)
            timed("last hour", lambda: dash.recent_activity(seen))
            timed("failed page", lambda: dash.jobs_page(search, limit=100))
            if i >= 3:  # the first refreshes connect and warm caches
                totals.append((time.perf_counter() - begun) * 1000)
        activity = dash.queue_activity()
    finally:
        api.close()
    env.flush_redis()
    queued = sum(q.queued for q in activity.counts)
    detail = ", ".join(f"{k} {statistics.median(v[3:]):.1f} ms" for k, v in parts.items())
    return Result(
        "dashboard-refresh-pg",
        statistics.median(totals),
        None,
        "ms",
        [at_most_abs(50, "ms")],
        note=f"{rows:,} rows, {queued:,} queued in RQ; median parts: {detail}; no baseline (absolute target)",
    )


BENCHMARKS = [Benchmark("dashboard-refresh-pg", "jobctl top data refresh, PostgreSQL, 1M rows", run)]
