"""The worker side: what runs jobs, and what keeps a running job from getting lost.

The life of an execution:

1. A slot (`slot.py`, an RQ SimpleWorker in a thread of the pool, `pool.py`) pops a job and
   writes RQ's start in one Lua call (`lean_worker.py`, `lean_scripts.py`), and its SQL row
   is claimed: PENDING -> RUNNING, attempts + 1. That attempt number fences every later
   write of this execution. Slots asking at the same moment share one Redis pipeline and one
   claim statement (`popper.py`, `claimer.py`, `group_commit.py`).
2. The runner (`runner.py`, RQ's entry point) takes that claim (or claims the row itself, for
   a job popped by RQ's own blocking dequeue) and builds the job's context.
3. The processor runs inside the runtime (`runtime.py`): its monitor renews the job's lease
   while it makes progress, stops it when an operator cancels it or when it made no progress
   for the queue's lock (`interrupt.py`), and counts it (`metrics.py`).
4. It ends: a success goes to the completer (`completer.py`), which records it with others
   in one fenced statement and RQ's success script; a failure is recorded at once, as a retry
   (RQ schedules it as the row says) or FAILED.
5. Meanwhile the process beats (`liveness.py`) and fences itself if it cannot. When a worker
   dies or a job hangs, a sweep in some live worker (`recovery.py`) gives up on the
   execution and queues the job again at once; the reconciler (`reconciler.py`) repairs
   rows and Redis entries that disagree. `health.py` serves /healthz and /metrics.

Layering: above jobctl.queue (connection, producer, RQ's job class, leases), below jobctl.api.
"""
