"""60 concurrent I/O-bound jobs in one worker process: `jobctl worker --concurrency 60`.

Each job GETs a local HTTP server that answers after 200 ms (the `bench-http-wait` plugin
type), so the ideal is 60 / 0.2 s = 300 jobs/s. Throughput runs from the first job's start to
the last job's end (the SQL rows); the worker's RSS (process and children) is sampled every
100 ms while it runs.
"""

from __future__ import annotations

import subprocess
import time

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_least, at_most_abs
from benchmarks.http_wait import JOB_TYPE, HttpWaitProcessor, SlowServer, install_plugin

QUEUE = "analytics-sync"
SLOTS = 60
WAIT_S = 0.2
TIMEOUT_S = 600


def run(env: Env) -> Result:
    import psutil  # type: ignore[import-untyped]
    from sqlalchemy import func, select

    from jobctl.api import EnqueueRequest, JobctlAPI
    from jobctl.processors.registry import build_registry
    from jobctl.store.tables import JOBS

    total = env.pick(tiny=60, small=600, default=3_000)
    env.flush_redis()
    plugin = install_plugin(env.tmp / "plugin")
    with env.postgres() as url, SlowServer(WAIT_S) as server:
        api = JobctlAPI(env.settings(url), registry=build_registry(extra={JOB_TYPE: HttpWaitProcessor}))
        try:
            api.enqueue_many([EnqueueRequest(JOB_TYPE, {"url": server.url}, queue=QUEUE)] * total)
            environ = env.subprocess_environ(url)
            environ["PYTHONPATH"] += f":{plugin}"
            command = [env.exe("jobctl"), "worker", "--queue", QUEUE, "--concurrency", str(SLOTS), "--burst"]
            peak_rss = 0
            with open(env.tmp / "concurrent-worker.log", "wb") as log:
                proc = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
                try:
                    deadline = time.monotonic() + TIMEOUT_S
                    while proc.poll() is None and time.monotonic() < deadline:
                        peak_rss = max(peak_rss, _tree_rss(psutil, proc.pid))
                        time.sleep(0.1)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                    proc.wait()
            if proc.returncode != 0:
                raise RuntimeError(
                    f"worker exited {proc.returncode} (log: {env.tmp / 'concurrent-worker.log'})"
                )
            c = JOBS.c
            with api.backends.engine.connect() as conn:
                done, first, last = conn.execute(
                    select(func.count(), func.min(c.started_at), func.max(c.finished_at)).where(
                        c.status == "COMPLETED"
                    )
                ).one()
        finally:
            api.close()
    env.flush_redis()
    if done != total:
        raise RuntimeError(f"only {done} of {total} jobs completed")
    rate = done / (last - first).total_seconds()
    rss_mb = peak_rss / 2**20
    return Result(
        "worker-concurrent-io",
        rate,
        SLOTS / WAIT_S,
        "jobs/s",
        [at_least(0.9), at_most_abs(400, "MB", metric="rss")],
        note=f"{total:,} jobs, {SLOTS} slots, peak RSS {rss_mb:.0f} MB; "
        f"baseline = the ideal {SLOTS}/{WAIT_S:g} s",
        extra={"rss": rss_mb},
    )


def _tree_rss(psutil: object, pid: int) -> int:
    """RSS of a process and all its children, in bytes (0 once it is gone)."""
    try:
        proc = psutil.Process(pid)  # type: ignore[attr-defined]
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs)
    except Exception:
        return 0


BENCHMARKS = [
    Benchmark("worker-concurrent-io", "60 concurrent jobs each waiting 200 ms on HTTP, one worker", run),
]
