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
from benchmarks.harness import Benchmark, Result, Target, at_least, at_most_abs
from benchmarks.http_wait import JOB_TYPE, HttpWaitProcessor, SlowServer, install_plugin

QUEUE = "analytics-sync"
SLOTS = 60
WAIT_S = 0.2
TIMEOUT_S = 600


def run(env: Env) -> Result:
    return _run(env, SLOTS, "worker-concurrent-io", [at_least(0.9), at_most_abs(400, "MB", metric="rss")])


def run_200(env: Env) -> Result:
    """The same at --concurrency 200 (ideal 1,000 jobs/s), no target: where the design ends."""
    return _run(env, 200, "worker-concurrent-io-200", [])


def _run(env: Env, slots: int, name: str, targets: list[Target]) -> Result:
    import psutil  # type: ignore[import-untyped]
    from sqlalchemy import func, select

    from jobctl.api import EnqueueRequest, JobctlAPI
    from jobctl.processors.registry import build_registry
    from jobctl.store.tables import JOBS

    total = env.pick(tiny=60, small=600, default=3_000) * slots // SLOTS  # ~50 jobs a slot
    env.flush_redis()
    plugin = install_plugin(env.tmp / "plugin")
    with env.postgres() as url, SlowServer(WAIT_S) as server:
        api = JobctlAPI(env.settings(url), registry=build_registry(extra={JOB_TYPE: HttpWaitProcessor}))
        try:
            api.enqueue_many([EnqueueRequest(JOB_TYPE, {"url": server.url}, queue=QUEUE)] * total)
            environ = env.subprocess_environ(url)
            environ["PYTHONPATH"] += f":{plugin}"
            command = [env.exe("jobctl"), "worker", "--queue", QUEUE, "--concurrency", str(slots), "--burst"]
            peak_rss = 0
            cpu_s = 0.0  # the worker's CPU time, last seen (a figure that load on the machine barely moves)
            with open(env.tmp / "concurrent-worker.log", "wb") as log:
                proc = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
                try:
                    deadline = time.monotonic() + TIMEOUT_S
                    while proc.poll() is None and time.monotonic() < deadline:
                        peak_rss = max(peak_rss, _tree_rss(psutil, proc.pid))
                        cpu_s = _cpu_seconds(psutil, proc.pid) or cpu_s
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
                statuses = dict(conn.execute(select(c.status, func.count()).group_by(c.status)).all())
                errors = sorted({e for (e,) in conn.execute(select(c.error_message).distinct()) if e})[:3]
        finally:
            api.close()
    env.flush_redis()
    if done != total:
        unusual = [
            line.strip()[:300]
            for line in (env.tmp / "concurrent-worker.log").read_text(errors="replace").splitlines()
            if '"job running"' not in line and '"job completed"' not in line
        ]
        raise RuntimeError(
            f"only {done} of {total} jobs completed: {statuses}, errors {errors}; worker log: {unusual[:6]}"
        )
    rate = done / (last - first).total_seconds()
    rss_mb = peak_rss / 2**20
    cpu_ms = 1000 * cpu_s / total
    return Result(
        name,
        rate,
        slots / WAIT_S,
        "jobs/s",
        targets,
        note=f"{total:,} jobs, {slots} slots, peak RSS {rss_mb:.0f} MB, worker CPU {cpu_ms:.2f} ms a job; "
        f"baseline = the ideal {slots}/{WAIT_S:g} s",
        extra={"rss": rss_mb, "cpu_ms_per_job": cpu_ms},
    )


def _cpu_seconds(psutil: object, pid: int) -> float:
    """User + system CPU seconds of a running process (0 once it is gone)."""
    try:
        times = psutil.Process(pid).cpu_times()  # type: ignore[attr-defined]
        return float(times.user + times.system)
    except Exception:
        return 0.0


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
    Benchmark("worker-concurrent-io-200", "the same with 200 slots (no target)", run_200),
]
