"""One error hierarchy for jobctl, each error with a short title, a message and an exit code.

The exit codes are the CLI's documented contract (README "Exit codes"); they live here, next to
the errors that produce them, so one module documents them all.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of every jobctl command."""

    OK = 0
    FAILURE = 1  # unexpected internal error (reported without a traceback unless JOBCTL_DEBUG=1)
    USAGE = 2  # bad command line (unknown option, missing argument) - click's own code
    INVALID_INPUT = 3  # invalid payload, bad key=value, bad duration/time, bad job id
    NOT_FOUND = 4  # unknown job id (or other named object)
    UNKNOWN_TYPE = 5  # unknown job type, or a type whose processor is not available
    TOO_MANY_JOBS = 6  # the organisation's active-job limit is reached
    REDIS_UNAVAILABLE = 7  # Redis cannot be reached
    DATABASE_UNAVAILABLE = 8  # the database cannot be reached or its schema is not current
    JOB_FAILED = 9  # --wait / ping: the job ended FAILED or CANCELLED; jobs wait: a job FAILED
    TIMEOUT = 10  # --wait / ping / jobs wait: a job did not finish in time
    INVALID_STATE = 11  # the operation does not apply to the job's current status
    CONFIG = 12  # bad configuration file or environment value
    FORCED_SHUTDOWN = 13  # worker: stopped by a second signal or an expired grace period
    CHECK_FAILED = 14  # doctor: at least one check failed (warnings alone exit 0)
    FETCH_FAILED = 15  # sources preview: the URL could not be fetched, or is not a page / feed
    JOB_CANCELLED = 16
    """`jobs wait`: a job ended CANCELLED (and none FAILED). `enqueue --wait` and `ping` keep 9
    for a cancelled job, as they always documented; `jobs wait` tells the two apart so a script
    can treat an operator's cancel differently from a failure."""
    NOT_CONFIRMED = 17
    """A bulk command (`jobs retry --all-failed`, `jobs purge`) was not confirmed: the prompt was
    declined, or there is no terminal to ask on and no `--yes`. Nothing was changed."""
    INTERRUPTED = 130  # Ctrl-C


class JobctlError(Exception):
    """Base of every error jobctl reports to a user: a title, a one-line message, an exit code."""

    title = "jobctl error"
    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(JobctlError):
    title = "configuration error"
    exit_code = ExitCode.CONFIG


class InvalidInputError(JobctlError):
    """Input that is not a payload problem: a malformed duration, time, key=value or id."""

    title = "invalid input"
    exit_code = ExitCode.INVALID_INPUT


class PayloadValidationError(InvalidInputError):
    """A payload does not match its job type's contract; `errors` holds (field path, message)."""

    title = "invalid payload"

    def __init__(self, job_type: str, errors: list[tuple[str, str]]) -> None:
        self.job_type = job_type
        self.errors = errors
        detail = "; ".join(f"{path}: {msg}" if path else msg for path, msg in errors)
        super().__init__(f"invalid payload for {job_type}: {detail}")


class UnknownJobTypeError(JobctlError):
    title = "unknown job type"
    exit_code = ExitCode.UNKNOWN_TYPE


class ProcessorNotAvailableError(UnknownJobTypeError):
    """The type is part of the platform's contract but no processor for it is installed yet."""

    title = "processor not available"


class UnknownQueueError(InvalidInputError):
    title = "unknown queue"


class JobNotFoundError(JobctlError):
    title = "job not found"
    exit_code = ExitCode.NOT_FOUND

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job with id {job_id!r}")


class InvalidTransitionError(JobctlError):
    title = "invalid state"
    exit_code = ExitCode.INVALID_STATE


class TooManyJobsError(JobctlError):
    title = "too many active jobs"
    exit_code = ExitCode.TOO_MANY_JOBS

    def __init__(self, organization_id: str, limit: int) -> None:
        self.organization_id = organization_id
        self.limit = limit
        super().__init__(
            f"organisation {organization_id!r} already has {limit} active jobs (the limit); "
            "wait for some to finish or raise its limit"
        )


class BackendUnavailableError(JobctlError):
    """A backend (Redis or the database) cannot be reached. Messages carry only masked URLs."""


class RedisUnavailableError(BackendUnavailableError):
    title = "Redis unavailable"
    exit_code = ExitCode.REDIS_UNAVAILABLE


class DatabaseUnavailableError(BackendUnavailableError):
    title = "database unavailable"
    exit_code = ExitCode.DATABASE_UNAVAILABLE


class SchemaOutOfDateError(DatabaseUnavailableError):
    title = "database schema out of date"


class JobProcessingError(JobctlError):
    """Raised by processors for an expected, retryable failure of the work itself."""

    title = "job processing failed"
    retryable = True


class PermanentJobError(JobProcessingError):
    """A processing failure that retrying cannot fix (the job goes FAILED at once)."""

    title = "job failed permanently"
    retryable = False


class JobDeferredError(JobProcessingError):
    """The work must wait, not fail: a rate limit or an overloaded service said when to come
    back (`retry_after_s`, from Retry-After or a reset header; None: the runner's default wait).
    Processors raise it only once the wait no longer fits in their own deadline. The runner
    defers the job: PENDING again until then, the attempt recorded `deferred`, no retry spent
    and no failure counted, up to `[jobs] max_deferrals` times; past that cap it is an ordinary
    retryable failure."""

    title = "job deferred"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class JobCancelledError(JobctlError):
    """Raised inside a running job when an operator cancelled it."""

    title = "job cancelled"
    exit_code = ExitCode.JOB_FAILED

    def __init__(self, message: str = "job was cancelled") -> None:
        # No required argument: it is also raised asynchronously into a running thread,
        # where Python instantiates it without arguments.
        super().__init__(message)


class UnsafeJobError(JobctlError):
    """A job found in Redis that is not jobctl's entry point (or not JSON): never executed."""

    title = "refused job"


class WaitTimeoutError(JobctlError):
    title = "timed out"
    exit_code = ExitCode.TIMEOUT


class JobEndedBadlyError(JobctlError):
    """--wait / ping: the job ended FAILED or CANCELLED."""

    title = "job did not complete"
    exit_code = ExitCode.JOB_FAILED


class JobWasCancelledError(JobEndedBadlyError):
    """`jobs wait`: a job ended CANCELLED (a JobEndedBadlyError, so callers that only care
    about "did not complete" still catch it; the exit code tells it from a failure)."""

    title = "job cancelled"
    exit_code = ExitCode.JOB_CANCELLED


class NotConfirmedError(JobctlError):
    """A bulk change was neither confirmed at the prompt nor by `--yes`: nothing changed."""

    title = "not confirmed"
    exit_code = ExitCode.NOT_CONFIRMED


class ExecutionInterrupted(JobctlError):
    """Raised inside a running job when the worker itself must stop it. Constructible without
    arguments: it is raised asynchronously into the job's thread."""

    title = "execution interrupted"

    def __init__(self, message: str = "execution interrupted by its worker") -> None:
        super().__init__(message)


class WorkerShutdownInterrupt(ExecutionInterrupted):
    """Forced shutdown: the job goes back to PENDING without spending a retry."""

    def __init__(self, message: str = "worker shut down before the job finished") -> None:
        super().__init__(message)


class WorkerFencedInterrupt(ExecutionInterrupted):
    """The worker lost its liveness (Redis unreachable, paused): it stops its jobs before others
    may recover them, so one job never has two live executions."""

    def __init__(self, message: str = "worker lost its heartbeat and fenced itself") -> None:
        super().__init__(message)


class JobStalledError(ExecutionInterrupted):
    """The job made no progress for its queue's lock duration, or its worker died."""

    title = "job stalled"

    def __init__(self, message: str = "job made no progress for its queue's lock duration") -> None:
        super().__init__(message)


class WorkerNameInUseError(JobctlError):
    title = "worker name in use"
    exit_code = ExitCode.INVALID_STATE
