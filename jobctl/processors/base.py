"""What a processor is, and the context the runner hands it for one execution."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel

from jobctl.domain.errors import JobCancelledError
from jobctl.domain.job_types import JobTypeSpec

if TYPE_CHECKING:
    from redis import Redis

    from jobctl.services.platforms.ratelimit import RateGate


class ProgressSink(Protocol):
    """Where a context's progress and log lines go (the worker's Redis writer; see
    jobctl.queue.progress). Calls must be cheap: they only buffer."""

    def progress(
        self, job_id: str, attempt: int, done: float, total: float | None, message: str | None
    ) -> None: ...

    def log(self, job_id: str, attempt: int, message: str, fields: dict[str, Any]) -> None: ...


@dataclass
class JobContext:
    """One execution of one job, as its processor sees it.

    `cancel_event` is set when an operator cancels the job (or the worker must stop now);
    long-running processors wait through `sleep()` or poll `check_cancelled()` so a cancel
    takes effect at once instead of when the work happens to return.
    """

    job_id: str
    job_type: str
    queue: str
    attempt: int
    max_attempts: int
    organization_id: str | None
    worker: str
    cancel_event: threading.Event = field(default_factory=threading.Event)
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("jobctl.job"))
    # monotonic time of the last sign of progress: keeps the job's lease renewed
    last_touch: float = field(default_factory=time.monotonic)
    sink: ProgressSink | None = None  # None: progress and log lines are only touches
    # The platform clients' shared rate-limit gate (the worker's, in Redis); None: no gate.
    rate_gate: RateGate | None = None
    # The worker's Redis connection, for state shared across workers (refresh-token's lock per
    # account); None outside a worker (processors then build their own from the settings).
    redis: Redis | None = None

    def touch(self) -> None:
        """Report progress. A job that shows none for its queue's lock duration is stalled."""
        self.last_touch = time.monotonic()

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Report how far the job is (shown by `jobs show`, `jobs logs`, the dashboard); counts
        as progress for the job's lease. Buffered: cheap to call in a tight loop."""
        self.touch()
        if self.sink is not None:
            self.sink.progress(self.job_id, self.attempt, done, total, message)

    def log(self, message: str, **fields: Any) -> None:
        """One log line for operators (`jobs logs ID`); keeps the last lines only (settings)."""
        self.touch()
        if self.sink is not None:
            self.sink.log(self.job_id, self.attempt, message, fields)

    def check_cancelled(self) -> None:
        self.touch()
        if self.cancel_event.is_set():
            raise JobCancelledError(f"job {self.job_id} was cancelled")

    def sleep(self, seconds: float) -> None:
        """Sleep (a deliberate wait counts as progress), but wake and raise JobCancelledError
        the moment the job is cancelled."""
        deadline = time.monotonic() + max(0.0, seconds)
        while (left := deadline - time.monotonic()) > 0:
            self.touch()
            if self.cancel_event.wait(timeout=min(1.0, left)):
                raise JobCancelledError(f"job {self.job_id} was cancelled")
        self.touch()

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts


class Processor(Protocol):
    """A job type's implementation. `spec` is set by plugins that bring a new job type;
    built-in types take theirs from jobctl.domain.job_types.BUILTIN_JOB_TYPES."""

    job_type: ClassVar[str]

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        """Do the work; return a JSON-serialisable result. Raise to fail the attempt."""
        ...


def plugin_spec(processor: object) -> JobTypeSpec | None:
    spec = getattr(processor, "spec", None)
    return spec if isinstance(spec, JobTypeSpec) else None
