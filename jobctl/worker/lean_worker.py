"""RQ's SimpleWorker bookkeeping with the same Redis state per job in 2 round trips, not 18.

Measured with `redis-cli monitor` (rq 2.12, one slot, no-op jobs): RQ's SimpleWorker sends
53 commands a job in 18 round trips; jobctl's slots sent exactly the same. Each round trip
costs ~60-80 µs of wall time and ~50 µs of Python (redis-py pool checkout, packing, parsing),
which is most of RQ's ~1.5 ms a job and, with 60 slots in one process, most of the GIL.
What goes, and why it may:

- The worker hash's `last_heartbeat` + EXPIRE, sent 3 times a job on its own (2 round trips
  each) and once more inside the suspension check: refreshed at most every RQ_BEAT_EVERY_S.
  The hash lives worker_ttl + 60 s (480 s) and dashboards call a worker stale after 420 s
  without a beat; liveness that matters (recovering a dead worker's jobs) is jobctl's own
  heartbeat key, not this hash.
- `state: idle` written twice a job (after the job, again before the next dequeue): written
  when it changes, the post-job one inside the success transaction.
- `rq suspend`'s flag, read before every job: read at most every SUSPENSION_EVERY_S by one
  slot for all the slots of the process (SuspensionView); RQ's own wait loop runs only once
  the flag is seen set.
- prepare_execution and prepare_job_execution (two MULTIs back to back) and Job.perform's
  PERSIST: one MULTI. The job moves from the intermediate list into the started registry
  atomically, which is what the recovery sweep's two rescue passes expect.
- The job's `last_heartbeat` written on its own when it ends: saved with the job in the
  success transaction (a failure still writes it as RQ does).
- The dequeue's LMOVE, the job's HGETALL and the start transaction above: one Lua call
  (jobctl.worker.lean_scripts) when the slot dequeuing is known; RQ's blocking BLMOVE (then
  the MULTI) only when the queue is empty. The success transaction: one Lua call too.
- handle_job_success's WATCH + SMEMBERS of the job's dependents key before its MULTI: jobctl
  never creates RQ dependencies or repeats (its producer is the only way jobs reach its
  queues, and JobctlJob refuses anything but jobctl's entry point), so the transaction runs
  alone. A job that does have repeats goes through RQ's own path.

What stays exactly as RQ writes it: the job hash (status, started_at, ended_at, worker), the
started/finished/failed/scheduled registries, the execution records, results, the worker's
counters and current job — `rq info` and `jobctl queues` read the same keys as before.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from rq import SimpleWorker
from rq.exceptions import DequeueTimeout
from rq.executions import Execution
from rq.job import Job, JobStatus, parse_job_id
from rq.queue import Queue
from rq.suspension import WORKERS_SUSPENDED
from rq.utils import as_text, get_version, now
from rq.worker import WorkerStatus

from jobctl.queue.pause import OPEN_BLOCK_S, PAUSED_POLL_S, PauseGate, give_back
from jobctl.worker.lean_scripts import pop_and_start, succeed

if TYPE_CHECKING:
    from jobctl.worker.popper import Popper

RQ_BEAT_EVERY_S = 5.0
SUSPENSION_EVERY_S = 1.0


# KEYS[1] the queue, KEYS[2] its intermediate list; ARGV[1] the job key prefix.
_POP_AND_FETCH = """
local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
if not id then return false end
return {id, redis.call('HGETALL', ARGV[1] .. id)}
"""
_SCRIPT_ATTR = "_jobctl_pop_and_fetch"


class LeanQueue(Queue):
    """RQ's dequeue of a single queue in one round trip: with the slot that dequeues known,
    the pop and RQ's start transaction together (jobctl.worker.lean_scripts); else LMOVE, then
    HGETALL of the job."""

    @classmethod
    def dequeue_any(  # type: ignore[override]  # noqa: PLR0917 - RQ's signature
        cls,
        queues: list[Queue],
        timeout: int | None,
        connection: Any = None,
        job_class: type[Job] | None = None,
        serializer: Any = None,
        death_penalty_class: Any = None,
    ) -> tuple[Job, Queue] | None:
        worker = getattr(_dequeuing, "worker", None)
        gate = getattr(worker, "pause_gate", None)
        if gate is not None and (paused := gate.paused()):
            # Paused queues are left out (jobctl.queue.pause); with none open, wait and look again.
            open_queues = [q for q in queues if q.name not in paused]
            if not open_queues:
                if timeout is None:
                    return None
                time.sleep(PAUSED_POLL_S)
                raise DequeueTimeout(timeout, [q.key for q in queues])
            if len(open_queues) < len(queues) and timeout is not None:
                timeout = min(timeout, OPEN_BLOCK_S)  # type: ignore[assignment]  # BLPOP takes floats
            queues = open_queues
        if len(queues) == 1 and connection is not None and get_version(connection) >= (6, 2, 0):
            job_class = job_class or queues[0].job_class
            if worker is not None and worker.connection is connection:
                popper: Popper | None = worker.popper
                if popper is not None:  # with the other slots asking now, and claimed
                    popped = popper.pop(worker, queues[0], job_class, serializer)
                else:
                    popped = pop_and_start(worker, queues[0], job_class, serializer)
            else:
                popped = _pop_and_fetch(queues[0], connection, job_class, serializer)
            if popped is not None or timeout is None:
                return popped  # None: the queue is empty (a burst worker stops)
        popped = super().dequeue_any(
            queues, timeout, connection=connection, job_class=job_class, serializer=serializer,
            death_penalty_class=death_penalty_class,
        )  # fmt: skip
        if popped is not None and gate is not None and timeout is not None:
            # A blocking pop may have waited through a pause: such a job goes back, untouched.
            job, queue = popped
            if queue.name in gate.paused():
                moved = len(queues) == 1 and get_version(connection) >= (6, 2, 0)
                give_back(connection, queue.key, queue.intermediate_queue_key if moved else None, job.id)
                raise DequeueTimeout(timeout, [q.key for q in queues])
        return popped


# The slot dequeuing in this thread (RQ calls the classmethod above without the worker).
_dequeuing = threading.local()


def _pop_and_fetch(
    queue: Queue, connection: Any, job_class: type[Job], serializer: Any
) -> tuple[Job, Queue] | None:
    """As Queue.dequeue_any for one queue without blocking: ids whose job hash is gone are
    skipped (left in the intermediate list, as RQ leaves them); a job that cannot be restored
    raises with job_id and queue attached, as RQ does."""
    script = getattr(connection, _SCRIPT_ATTR, None)
    if script is None:
        script = connection.register_script(_POP_AND_FETCH)
        setattr(connection, _SCRIPT_ATTR, script)
    keys = [queue.key, queue.intermediate_queue_key]
    while True:
        reply = script(keys=keys, args=[job_class.redis_job_namespace_prefix], client=connection)
        if not reply:
            return None
        job_id, flat = as_text(reply[0]), reply[1]
        if not flat:
            continue
        job = job_class(parse_job_id(job_id), connection=connection, serializer=serializer)
        try:
            job.restore(dict(zip(flat[::2], flat[1::2], strict=True)))
        except Exception as exc:
            exc.job_id = job_id  # type: ignore[attr-defined]
            exc.queue = queue  # type: ignore[attr-defined]
            raise
        return job, queue


class SuspensionView:
    """The process's view of `rq suspend`: one EXISTS at most every SUSPENSION_EVERY_S for all
    its slots (60 slots looking once a second each were 60 round trips a second)."""

    def __init__(self, every_s: float = SUSPENSION_EVERY_S) -> None:
        self.every_s = every_s
        self._at = float("-inf")
        self._suspended = False
        self._lock = threading.Lock()

    def suspended(self, connection: Any) -> bool:
        mono = time.monotonic()
        if mono - self._at < self.every_s:
            return self._suspended
        with self._lock:
            if mono - self._at >= self.every_s:  # no other slot looked meanwhile
                self._suspended = bool(connection.exists(WORKERS_SUSPENDED))
                self._at = time.monotonic()
            return self._suspended


class LeanSimpleWorker(SimpleWorker):
    """SimpleWorker writing the same RQ state in fewer round trips (see the module doc)."""

    queue_class = LeanQueue
    pause_gate: PauseGate | None = None  # the process's view of paused queues (None: ignore)
    suspension: SuspensionView | None = None  # the process's view of `rq suspend` (None: own)
    popper: Popper | None = None  # pops and claims with the process's other slots (None: alone)

    _beat_at = float("-inf")  # monotonic time of the last worker-hash refresh
    _suspension_at = float("-inf")

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        # An explicit timeout (job preparation sets the job's TTL) is always written.
        mono = time.monotonic()
        if timeout is None and mono - self._beat_at < RQ_BEAT_EVERY_S:
            return
        self._beat_at = mono
        super().heartbeat(timeout, pipeline)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is None and state == self._state:
            return  # already written (this slot is the only writer of its hash)
        super().set_state(state, pipeline)

    def check_for_suspension(self, burst: bool) -> None:
        view = self.suspension
        if view is not None:
            if view.suspended(self.connection):
                super().check_for_suspension(burst)  # RQ's wait (or burst exit), as before
            return
        mono = time.monotonic()
        if mono - self._suspension_at < SUSPENSION_EVERY_S:
            return
        self._suspension_at = mono
        super().check_for_suspension(burst)

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        _dequeuing.worker = self  # LeanQueue.dequeue_any starts the job for this slot
        try:
            return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        finally:
            _dequeuing.worker = None

    def execute_job(self, job: Job, queue: Queue) -> None:
        # SimpleWorker.execute_job minus prepare_execution: prepare_job_execution does it.
        self.perform_job(job, queue)
        self.set_state(WorkerStatus.IDLE)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """RQ's prepare_execution + prepare_job_execution + Job.perform's PERSIST, one MULTI
        (nothing left to do when the dequeue script did it)."""
        if getattr(job, "_jobctl_started", False):
            return
        ttl = self.get_heartbeat_ttl(job)
        with self.connection.pipeline() as pipe:
            self.execution = Execution.create(job, ttl, pipeline=pipe, worker_name=self.name)
            self.set_state(WorkerStatus.BUSY, pipeline=pipe)
            self.set_current_job_id(job.id, pipeline=pipe)
            self.set_current_job_working_time(0, pipeline=pipe)
            self.heartbeat(ttl, pipeline=pipe)
            job.prepare_for_execution(self.name, pipeline=pipe)  # also the job's last_heartbeat
            pipe.persist(job.key)
            if remove_from_intermediate_queue:
                pipe.lrem(Queue(job.origin, connection=self.connection).intermediate_queue_key, 1, job.id)
            pipe.execute()
        job._jobctl_persisted = True  # type: ignore[attr-defined]  # JobctlJob.perform skips it

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        if job.get_status(refresh=False) == JobStatus.FAILED:
            super().handle_execution_ended(job, queue, heartbeat_ttl)
            return
        job.ended_at = now()
        job.last_heartbeat = job.ended_at  # saved with the job by the success transaction

    def handle_job_success(self, job: Job, queue: Queue, started_job_registry: Any) -> None:
        if job.repeats_left:
            super().handle_job_success(job, queue, started_job_registry)
            return
        assert job.started_at is not None and job.ended_at is not None
        result_ttl = job.get_result_ttl(self.default_result_ttl)
        if succeed(self, job, result_ttl, self.execution):  # the same writes as below, one Lua call
            self.execution = None
            self._state = WorkerStatus.IDLE
            return
        execution = self.execution
        with self.connection.pipeline() as pipe:
            self.increment_successful_job_count(pipeline=pipe)
            self.increment_total_working_time(job.ended_at - job.started_at, pipe)
            if result_ttl != 0:
                job._handle_success(
                    result_ttl, pipeline=pipe, worker_name=self.name,
                    execution_id=execution.id if execution else None,
                    execution_started_at=execution.created_at if execution else None,
                    execution_ended_at=job.ended_at,
                )  # fmt: skip
            job.cleanup(result_ttl, pipeline=pipe, remove_from_queue=False)
            self.cleanup_execution(job, pipeline=pipe)
            pipe.hset(self.key, "state", WorkerStatus.IDLE)
            pipe.execute()
        self._state = WorkerStatus.IDLE  # only once Redis has it: set_state skips equal states
