"""Enqueue one job at a time: `JobctlAPI.enqueue_job` (SQL row + RQ job) vs raw RQ `Queue.enqueue`.

Each jobctl enqueue validates the payload, inserts the row and pushes the RQ job: a commit on
the database and one Redis pipeline. Raw RQ writes only to Redis. Both run in this process,
alternating in chunks so a slow spell of the machine lands on both sides.
"""

from __future__ import annotations

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_least, interleaved
from benchmarks.noop import noop

QUEUE = "analytics-sync"
RAW_QUEUE = "raw-bench"


def run(env: Env, backend: str, target: float) -> Result:
    from rq import Queue

    from jobctl.api import JobctlAPI

    total = env.pick(tiny=20, small=1_000, default=10_000)
    env.flush_redis()
    with env.database(backend) as url:
        api = JobctlAPI(env.settings(url))
        raw = Queue(RAW_QUEUE, connection=env.redis)
        try:
            api.enqueue_job("ping", {}, queue=QUEUE)  # connect, check the schema, warm caches
            raw.enqueue(noop)

            def jobctl(n: int) -> None:
                for _ in range(n):
                    api.enqueue_job("ping", {}, queue=QUEUE)

            def baseline(n: int) -> None:
                for _ in range(n):
                    raw.enqueue(noop)

            t_jobctl, t_base = interleaved(jobctl, baseline, total, rounds=10)
        finally:
            api.close()
        commit = env.commit_ms(url, samples=env.pick(tiny=5, small=100, default=200))
    env.flush_redis()
    per_job = f"jobctl {t_jobctl / total * 1000:.2f} ms, RQ {t_base / total * 1000:.2f} ms"
    note = f"{total:,} jobs each; per job: {per_job}"
    if commit is not None:
        note += f"; a raw INSERT+commit on this server: {commit:.2f} ms"
    return Result(
        f"enqueue-single-{backend}", total / t_jobctl, total / t_base, "jobs/s", [at_least(target)], note=note
    )


BENCHMARKS = [
    Benchmark(
        "enqueue-single-pg",
        "enqueue_job one at a time on PostgreSQL vs RQ Queue.enqueue",
        lambda env: run(env, "pg", 0.5),
    ),
    Benchmark(
        "enqueue-single-sqlite",
        "enqueue_job one at a time on SQLite vs RQ Queue.enqueue",
        lambda env: run(env, "sqlite", 0.6),
    ),
]
