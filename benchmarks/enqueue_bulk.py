"""Enqueue in bulk: `JobctlAPI.enqueue_many` (one INSERT + one pipeline) vs raw RQ `enqueue_many`
with a pipeline. Several batches per side, alternating; the median batch time counts.
"""

from __future__ import annotations

import statistics
import time

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_least
from benchmarks.noop import noop

QUEUE = "analytics-sync"
RAW_QUEUE = "raw-bench"


def run(env: Env, backend: str) -> Result:
    from rq import Queue

    from jobctl.api import EnqueueRequest, JobctlAPI

    batch = env.pick(tiny=20, small=1_000, default=10_000)
    repeats = env.pick(tiny=1, small=3, default=3)
    env.flush_redis()
    with env.database(backend) as url:
        api = JobctlAPI(env.settings(url))
        raw = Queue(RAW_QUEUE, connection=env.redis)
        try:
            api.enqueue_job("ping", {}, queue=QUEUE)  # connect, check the schema, warm caches
            raw.enqueue(noop)
            t_jobctl: list[float] = []
            t_base: list[float] = []
            for _ in range(repeats):
                start = time.perf_counter()
                api.enqueue_many([EnqueueRequest("ping", {}, queue=QUEUE) for _ in range(batch)])
                t_jobctl.append(time.perf_counter() - start)

                start = time.perf_counter()
                with env.redis.pipeline() as pipe:
                    raw.enqueue_many([Queue.prepare_data(noop) for _ in range(batch)], pipeline=pipe)
                    pipe.execute()
                t_base.append(time.perf_counter() - start)
        finally:
            api.close()
    env.flush_redis()
    jobctl_rate = batch / statistics.median(t_jobctl)
    base_rate = batch / statistics.median(t_base)
    return Result(f"enqueue-bulk-{backend}", jobctl_rate, base_rate, "jobs/s", [at_least(0.67)])


BENCHMARKS = [
    Benchmark(
        "enqueue-bulk-pg", "enqueue_many on PostgreSQL vs RQ enqueue_many + pipeline", lambda e: run(e, "pg")
    ),
    Benchmark(
        "enqueue-bulk-sqlite",
        "enqueue_many on SQLite vs RQ enqueue_many + pipeline",
        lambda e: run(e, "sqlite"),
    ),
]
