"""`ping`: the operator's end-to-end check that a queue is consumed and retries behave."""

from __future__ import annotations

import os
import signal
import time
from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.errors import JobProcessingError
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
        if payload.hang_s and ctx.attempt <= payload.hang_attempts:
            time.sleep(payload.hang_s)  # one blocking call: no progress, no interrupt until it returns
        ctx.log("ping started", sleep_s=payload.sleep_s)
        if payload.sleep_s:
            _sleep_with_progress(ctx, payload.sleep_s)
        if ctx.attempt <= payload.fail_attempts:
            raise JobProcessingError(
                f"ping asked to fail its first {payload.fail_attempts} attempt(s); "
                f"this is attempt {ctx.attempt}"
            )
        ctx.log("ping done")
        return {
            "pong": True,
            "attempt": ctx.attempt,
            "worker": ctx.worker,
            "queue": ctx.queue,
            "slept_s": round(time.monotonic() - started, 3),
        }


def _sleep_with_progress(ctx: JobContext, sleep_s: float) -> None:
    """Sleep in one-second steps, reporting progress after each (something for operators to see)."""
    total = float(sleep_s)
    done = 0.0
    ctx.progress(0, total, "sleeping")
    while done < total:
        step = min(1.0, total - done)
        ctx.sleep(step)
        done += step
        ctx.progress(round(done, 3), total, f"slept {done:g}s of {total:g}s")
