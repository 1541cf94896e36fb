"""`jobctl worker --pool process` on no-op jobs vs raw RQ's forking `Worker` on no-op jobs.

Measured like worker-noop (subprocesses, one job at a time, RQ's started/ended records)
once this jobctl has a process pool; until then the row says so.
"""

from __future__ import annotations

import subprocess

from benchmarks.environment import ROOT, Env
from benchmarks.harness import Benchmark, Result, at_least, not_measured
from benchmarks.noop import noop
from benchmarks.worker_throughput import QUEUE, RAW_QUEUE, _run_worker, _span

NAME = "worker-process-pool"
TARGET = at_least(0.8)


def _process_pool_built(env: Env, url: str) -> bool:
    """Ask the CLI itself: an empty burst run with `--pool process` either works or says no."""
    env.flush_redis()
    out = subprocess.run(
        [env.exe("jobctl"), "worker", "--queue", QUEUE, "--pool", "process", "--concurrency", "1", "--burst"],
        env=env.subprocess_environ(url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return out.returncode == 0


def run(env: Env) -> Result:
    from rq import Queue

    from jobctl.api import EnqueueRequest, JobctlAPI
    from jobctl.domain.status import JobStatus

    if "--pool" not in env.help_text("worker"):
        return not_measured(NAME, "jobs/s", [TARGET], "`jobctl worker --pool process` not built")
    total = env.pick(tiny=10, small=200, default=400)
    with env.postgres() as url:
        if not _process_pool_built(env, url):
            return not_measured(NAME, "jobs/s", [TARGET], "`jobctl worker --pool process` not built")
        env.flush_redis()
        api = JobctlAPI(env.settings(url))
        try:
            ids = [r.id for r in api.enqueue_many([EnqueueRequest("ping", {}, queue=QUEUE)] * total)]
            command = [env.exe("jobctl"), "worker", "--queue", QUEUE, "--pool", "process"]
            command += ["--concurrency", "1", "--burst", "--log-json"]
            _run_worker(command, env.subprocess_environ(url), env.tmp / "jobctl-process-pool.log")
            counts = api.backends.repo.counts_by_status()
        finally:
            api.close()
        if counts[JobStatus.COMPLETED] != total:
            raise RuntimeError(f"jobctl completed {counts[JobStatus.COMPLETED]} of {total} jobs")
        jobctl_rate = total / _span(env, ids)
        env.flush_redis()
        raw = Queue(RAW_QUEUE, connection=env.redis)
        with env.redis.pipeline() as pipe:
            jobs = raw.enqueue_many([Queue.prepare_data(noop) for _ in range(total)], pipeline=pipe)
            pipe.execute()
        command = [env.exe("rq"), "worker", RAW_QUEUE, "--burst", "--url", env.redis_url, "--path", str(ROOT)]
        command += ["--logging_level", "WARNING"]  # the default class: rq.Worker, a fork per job
        _run_worker(command, env.subprocess_environ(url), env.tmp / "rq-forking-worker.log")
        base_rate = total / _span(env, [j.id for j in jobs])
    env.flush_redis()
    return Result(NAME, jobctl_rate, base_rate, "jobs/s", [TARGET], note=f"{total:,} jobs, PostgreSQL")


BENCHMARKS = [Benchmark(NAME, "jobctl worker --pool process vs rq Worker (fork per job), no-op jobs", run)]
