"""`ping`: the operator's end-to-end check that a queue is consumed and retries behave.

Its drills (payload fields): fail the first N attempts, defer them (as a rate-limited job does:
no retry spent), kill the worker, hang without a sign of life, and report progress / log lines
(`progress_steps`, `log_lines`). A plain ping reports nothing, so the worker benchmarks that run
pings measure the bookkeeping alone.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.errors import JobDeferredError, JobProcessingError
from jobctl.domain.payloads import PingPayload
from jobctl.processors.base import JobContext


class PingProcessor:
    job_type: ClassVar[str] = "ping"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, PingPayload)
        started = time.monotonic()
        if ctx.attempt <= payload.crash_attempts:
            ctx.logger.error(f"ping: crash drill, killing worker pid {os.getpid()}")
            os.kill(os.getpid(), signal.SIGKILL)
        for i in range(payload.log_lines):
            ctx.log(f"ping line {i + 1} of {payload.log_lines}", line=i + 1)
        if payload.hang_s and ctx.attempt <= payload.hang_attempts:
            # Blocking calls: no sign of life but the progress reports, if asked for any.
            _wait(ctx, payload.hang_s, payload.progress_steps, time.sleep)
        if payload.sleep_s:
            _wait(ctx, payload.sleep_s, payload.progress_steps, ctx.sleep)
        if ctx.attempt <= payload.defer_attempts:
            raise JobDeferredError(
                f"ping asked to defer its first {payload.defer_attempts} attempt(s) by {payload.defer_s:g}s; "
                f"this is attempt {ctx.attempt}",
                retry_after_s=payload.defer_s,
            )
        if ctx.attempt <= payload.fail_attempts:
            raise JobProcessingError(
                f"ping asked to fail its first {payload.fail_attempts} attempt(s); "
                f"this is attempt {ctx.attempt}"
            )
        return {
            "pong": True,
            "attempt": ctx.attempt,
            "worker": ctx.worker,
            "queue": ctx.queue,
            "slept_s": round(time.monotonic() - started, 3),
        }


def _wait(ctx: JobContext, seconds: float, steps: int, sleep: Any) -> None:
    """Wait `seconds` in `steps` equal parts, reporting progress after each (none if 0 steps)."""
    if not steps:
        sleep(seconds)
        return
    ctx.progress(0, steps, f"waiting {seconds:g}s")
    for done in range(1, steps + 1):
        sleep(seconds / steps)
        ctx.progress(done, steps, f"step {done} of {steps}")
