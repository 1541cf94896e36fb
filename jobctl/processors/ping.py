"""`ping`: the operator's end-to-end check that a queue is consumed and retries behave."""

from __future__ import annotations

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
        if payload.sleep_s:
            ctx.sleep(payload.sleep_s)
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
