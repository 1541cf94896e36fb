"""Scheduler firing delay: how late `jobctl scheduler` enqueues a tick after its fire time.

Four schedules fire every second (6-field cron) on PostgreSQL; the scheduler runs as a
subprocess (its CLI) until 100 ticks have fired, then gets SIGTERM. A worker runs beside it,
so each tick's ping job is done before the next tick (a schedule skips ticks while its last
job is still active). Each tick's delay is its job row's created_at minus the fire time (the
row's scheduled_for); the figure is the p99.
"""

from __future__ import annotations

import math
import signal
import subprocess
import time

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, Target

SCHEDULES = 4


def run(env: Env) -> Result:
    from sqlalchemy import func, select

    from jobctl.api import JobctlAPI
    from jobctl.api.schedules import ScheduleAPI
    from jobctl.store.tables import JOBS

    ticks = env.pick(tiny=8, small=40, default=100)
    env.flush_redis()
    c = JOBS.c
    with env.postgres() as url:
        api = JobctlAPI(env.settings(url))
        try:
            schedules = ScheduleAPI(api)
            for i in range(SCHEDULES):
                schedules.add(f"bench-{i}", "ping", "* * * * * *", {}, queue="analytics-sync")
            fired = select(func.count()).where(c.schedule_id.is_not(None))
            environ = env.subprocess_environ(url)
            worker = [env.exe("jobctl"), "worker", "--queue", "analytics-sync", "--log-json"]
            with open(env.tmp / "scheduler.log", "wb") as log:
                procs = [
                    subprocess.Popen(command, env=environ, stdout=log, stderr=log)
                    for command in (worker, [env.exe("jobctl"), "scheduler", "--log-json"])
                ]
                try:
                    deadline = time.monotonic() + ticks / SCHEDULES + 60
                    while time.monotonic() < deadline and all(p.poll() is None for p in procs):
                        with api.backends.engine.connect() as conn:
                            if conn.execute(fired).scalar_one() >= ticks:
                                break
                        time.sleep(0.5)
                finally:
                    for proc in procs:
                        _stop(proc)
            with api.backends.engine.connect() as conn:
                rows = conn.execute(
                    select(c.created_at, c.scheduled_for).where(c.schedule_id.is_not(None))
                ).all()
        finally:
            api.close()
    env.flush_redis()
    if len(rows) < ticks:
        raise RuntimeError(
            f"the scheduler fired {len(rows)} of {ticks} ticks (log: {env.tmp / 'scheduler.log'})"
        )
    delays = sorted((created - fire).total_seconds() for created, fire in rows)
    p99 = delays[min(len(delays) - 1, math.ceil(0.99 * len(delays)) - 1)]
    p50 = delays[len(delays) // 2]
    return Result(
        "scheduler-firing-delay",
        p99,
        None,
        "s",
        [Target("max_abs", 1.0, "s")],
        note=f"p99 over {len(delays)} ticks of {SCHEDULES} every-second schedules; "
        f"p50 {p50 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms; no baseline (the fire time itself)",
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


BENCHMARKS = [Benchmark("scheduler-firing-delay", "jobctl scheduler: enqueue time - fire time, p99", run)]
