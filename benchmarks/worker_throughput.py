"""Worker throughput on no-op jobs: `jobctl worker --burst` over ping jobs (row RUNNING ->
COMPLETED, structured logs) vs raw RQ's `SimpleWorker` in burst mode over no-op jobs.

Both workers run as subprocesses through their own CLIs, one job at a time (jobctl with
`--concurrency 1`: this measures the bookkeeping per job; concurrency has its own
benchmark). Both are timed from the first dequeue to the queue being empty, read from the
same place for both: the started_at and ended_at RQ records in each job's hash (so
interpreter start-up and connecting are not counted on either side). The jobs are enqueued
before the worker starts.
"""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path

from benchmarks.environment import ROOT, Env
from benchmarks.harness import Benchmark, Result, at_least
from benchmarks.noop import noop

QUEUE = "analytics-sync"
RAW_QUEUE = "raw-bench"
TIMEOUT_S = 600


def run(env: Env, backend: str, target: float) -> Result:
    total = env.pick(tiny=10, small=300, default=800)
    rounds = env.pick(tiny=1, small=1, default=2)  # alternate, so a slow spell hits both sides
    jobctl_s = base_s = 0.0
    with env.database(backend) as url:
        for _ in range(rounds):
            jobctl_s += _jobctl(env, url, total)
            base_s += _raw_rq(env, url, total)
        commit = env.commit_ms(url, samples=env.pick(tiny=5, small=100, default=200))
    env.flush_redis()
    jobctl_rate, base_rate = rounds * total / jobctl_s, rounds * total / base_s
    note = f"{rounds} x {total:,} jobs a side; jobctl writes 2 commits a job (claim, complete)"
    if commit is not None:
        note += f"; a raw INSERT+commit on this server: {commit:.2f} ms"
    return Result(f"worker-noop-{backend}", jobctl_rate, base_rate, "jobs/s", [at_least(target)], note=note)


def _jobctl(env: Env, url: str, total: int) -> float:
    """Seconds the jobctl worker took for `total` ping jobs (first start to last end)."""
    from jobctl.api import EnqueueRequest, JobctlAPI
    from jobctl.domain.status import JobStatus

    env.flush_redis()
    api = JobctlAPI(env.settings(url))
    try:
        done_before = api.backends.repo.counts_by_status()[JobStatus.COMPLETED]
        ids = [r.id for r in api.enqueue_many([EnqueueRequest("ping", {}, queue=QUEUE)] * total)]
        log = env.tmp / f"jobctl-worker-{url.rsplit('/', 1)[-1][:20]}.log"
        command = [env.exe("jobctl"), "worker", "--queue", QUEUE, "--burst", "--log-json"]
        if "--concurrency" in env.help_text("worker"):
            command += ["--concurrency", "1"]  # one job at a time, like SimpleWorker
        _run_worker(command, env.subprocess_environ(url), log)
        done = api.backends.repo.counts_by_status()[JobStatus.COMPLETED] - done_before
    finally:
        api.close()
    if done != total:
        raise RuntimeError(f"jobctl worker completed {done} of {total} jobs")
    return _span(env, ids)


def _raw_rq(env: Env, url: str, total: int) -> float:
    """Seconds raw RQ's SimpleWorker took for `total` no-op jobs (first start to last end)."""
    from rq import Queue

    env.flush_redis()
    raw = Queue(RAW_QUEUE, connection=env.redis)
    with env.redis.pipeline() as pipe:
        jobs = raw.enqueue_many([Queue.prepare_data(noop) for _ in range(total)], pipeline=pipe)
        pipe.execute()
    command = [
        env.exe("rq"), "worker", RAW_QUEUE, "--burst", "--url", env.redis_url, "--path", str(ROOT),
        "--worker-class", "rq.SimpleWorker", "--logging_level", "WARNING",
    ]  # fmt: skip
    _run_worker(command, env.subprocess_environ(url), env.tmp / "rq-worker.log")
    if raw.finished_job_registry.count != total:
        raise RuntimeError(f"raw RQ worker finished {raw.finished_job_registry.count} of {total} jobs")
    return _span(env, [j.id for j in jobs])


def _run_worker(command: list[str], environ: dict[str, str], log_path: object) -> None:
    with open(str(log_path), "wb") as log:
        proc = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
        try:
            code = proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError(f"{command[1]} worker did not drain its queue in {TIMEOUT_S} s") from None
    if code != 0:
        tail = Path(str(log_path)).read_text(encoding="utf-8", errors="replace")[-800:]
        raise RuntimeError(f"worker {command[0]} exited {code}: {tail}")


def _span(env: Env, ids: list[str]) -> float:
    """Seconds from the first job's start to the last job's end (RQ's own records)."""
    with env.redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hmget(f"rq:job:{job_id}", "started_at", "ended_at")
        stamps = pipe.execute()
    starts = [_when(s) for s, _ in stamps if s]
    ends = [_when(e) for _, e in stamps if e]
    if len(starts) != len(ids) or len(ends) != len(ids):
        raise RuntimeError(f"only {len(ends)} of {len(ids)} jobs recorded an end time")
    return (max(ends) - min(starts)).total_seconds()


def _when(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode().replace("Z", "+00:00"))


BENCHMARKS = [
    Benchmark(
        "worker-noop-pg",
        "jobctl worker --burst, ping jobs, PostgreSQL vs rq SimpleWorker --burst, no-op jobs",
        lambda env: run(env, "pg", 0.67),
    ),
    Benchmark(
        "worker-noop-sqlite",
        "jobctl worker --burst, ping jobs, SQLite vs rq SimpleWorker --burst, no-op jobs",
        lambda env: run(env, "sqlite", 0.8),
    ),
]
