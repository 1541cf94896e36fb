"""What `ctx.log()` / `ctx.progress()` cost the job that calls them (issue 10, item 3).

The job thread calls `ctx.log` N times in a tight loop while the worker's flusher thread sends
the pending lines to the real Redis every 0.2 s (it competes for the GIL, as in a worker). The
baseline is what a write-through `ctx.log` would cost: one synchronous RPUSH per call. The
row's figure is the job thread's time per call; `progress_us` is the same for `ctx.progress`.
"""

from __future__ import annotations

import json
import time

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_most, at_most_abs

NAME = "job-progress-log"


def run(env: Env) -> Result:
    from jobctl.processors.base import JobContext
    from jobctl.queue.progress import ProgressWriter, logs_key

    total = env.pick(tiny=2_000, small=20_000, default=100_000)
    env.flush_redis()
    writer = ProgressWriter(env.redis, max_lines=200, max_bytes=65_536, ttl_s=600)
    ctx = JobContext("bench-progress", "ping", "bench", 1, 4, None, "bench", sink=writer)
    ctx.log("warm-up", i=0)
    writer.flush()

    start = time.perf_counter()
    for i in range(total):
        ctx.log("copied one file", i=i, path="/data/in/file.txt")
    log_s = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(total):
        ctx.progress(i, total, "copying files")
    progress_s = time.perf_counter() - start
    writer.close()
    kept = int(env.redis.llen(logs_key("bench-progress")))

    direct = max(1, total // 10)  # a round trip per call: a tenth of the calls is plenty
    key = "bench-progress-direct"
    start = time.perf_counter()
    for i in range(direct):
        line = json.dumps({"ts": "", "attempt": 1, "message": "copied one file", "i": i})
        env.redis.rpush(key, line)
    direct_s = time.perf_counter() - start
    env.flush_redis()
    progress_us = progress_s / total * 1e6
    return Result(
        NAME,
        log_s / total * 1e6,
        direct_s / direct * 1e6,
        "µs/call",
        [at_most(0.5), at_most_abs(25, "µs")],
        note=(
            f"{total:,} ctx.log calls in the job thread, flusher sending; {kept} lines kept (cap 200);"
            f" ctx.progress {progress_us:.2g} µs/call"
        ),
        extra={"progress_us": progress_us},
    )


BENCHMARKS = [Benchmark(NAME, "ctx.log per call in the job thread (buffered) vs one RPUSH per call", run)]
