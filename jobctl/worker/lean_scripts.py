"""RQ's per-job start and success transactions as one Lua call each, writing what RQ writes.

py-spy (60 slots, I/O-bound jobs, GIL samples) put RQ's two MULTI blocks a job — 13 commands
to start, 16 to finish — at a quarter of the worker's GIL time: redis-py packs every command
and parses every QUEUED reply in Python, and RQ rebuilds and recompresses the whole job hash
to save it. Each script here is one command with a few arguments, so a slot holds the GIL for
a fraction of that, and the start is folded into the dequeue (one round trip, not two).

The keys and fields are RQ 2.x's, exactly (tests/integration/test_lean_scripts.py compares the
Redis state each script leaves with the state RQ's own code leaves): the job hash (status,
started_at, ended_at, last_heartbeat, worker_name), the execution hash and its registry, the
started (wip) and finished registries, the result stream, the worker hash (state, current job,
counters, heartbeat). `rq info`, rq-dashboard and jobctl's recovery read them as before.
"""

from __future__ import annotations

from base64 import b64encode
from datetime import datetime
from typing import Any
from uuid import uuid4

from redis.client import Pipeline
from rq.defaults import DEFAULT_WORKER_TTL
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import FinishedJobRegistry, StartedJobRegistry
from rq.results import Result
from rq.utils import as_text, current_timestamp, now, utcformat
from rq.worker import WorkerStatus

# KEYS: 1 queue, 2 its intermediate list, 3 the worker hash, 4 the queue's started registry.
# ARGV: 1 job key prefix, 2 execution id, 3 created_at (epoch float), 4 the same as RQ's UTC
# text, 5 worker name, 6 now (whole epoch seconds), 7 RQ's default worker TTL.
# The pop and the start are one atomic step, so the id never rests in the intermediate list
# (RQ's LMOVE there, then LREM once started, leaves the same end state). An id whose job hash
# is gone is left in the intermediate list, as RQ leaves it. Returns {id, hash before start}.
_POP_AND_START = """
local id = redis.call('LPOP', KEYS[1])
if not id then return false end
local jobkey = ARGV[1] .. id
local flat = redis.call('HGETALL', jobkey)
if #flat == 0 then
  redis.call('RPUSH', KEYS[2], id)
  return {id, flat}
end
-- SimpleWorker.get_heartbeat_ttl: RQ's worker TTL for a job that never times out (-1),
-- else its timeout (or that TTL) + 60.
local default = tonumber(ARGV[7])
local timeout = tonumber(redis.call('HGET', jobkey, 'timeout') or '')
local ttl = default + 60
if timeout == -1 then ttl = default
elseif timeout and timeout ~= 0 then
  ttl = (timeout >= 0 and math.floor(timeout) or math.ceil(timeout)) + 60
end
local stamp = tonumber(ARGV[6])
local exkey = 'rq:execution:' .. id .. ':' .. ARGV[2]
redis.call('HSET', exkey, 'id', ARGV[2], 'created_at', ARGV[3], 'last_heartbeat', ARGV[3],
  'worker_name', ARGV[5])
redis.call('EXPIRE', exkey, ttl)
redis.call('ZADD', 'rq:executions:' .. id, stamp + ttl + 60, ARGV[2])
redis.call('EXPIRE', 'rq:executions:' .. id, ttl + 60)
redis.call('ZADD', KEYS[4], stamp + ttl, id .. ':' .. ARGV[2])
redis.call('HSET', KEYS[3], 'state', 'busy', 'current_job', id, 'current_job_working_time', '0',
  'last_heartbeat', ARGV[4])
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('HSET', jobkey, 'last_heartbeat', ARGV[4], 'status', 'started', 'started_at', ARGV[4],
  'worker_name', ARGV[5])
redis.call('PERSIST', jobkey)
return {id, flat}
"""

# KEYS: 1 worker hash, 2 job hash, 3 result stream, 4 finished registry, 5 started registry,
# 6 execution hash, 7 execution registry, 8 dependents, 9 dependencies.
# ARGV: 1 working seconds, 2 started_at, 3 ended_at, 4 worker name, 5 result TTL (> 0),
# 6 now (whole epoch seconds), 7 execution id, 8 its start, 9 its end (epoch floats),
# 10 composite execution key, 11 the return value as RQ stores it ('' for None), 12 job id.
_SUCCEED = """
if redis.call('EXISTS', KEYS[1]) == 1 then  -- never recreate the hash of a worker that ended
  redis.call('HINCRBY', KEYS[1], 'successful_job_count', 1)
  redis.call('HINCRBYFLOAT', KEYS[1], 'total_working_time', ARGV[1])
end
redis.call('HSET', KEYS[2], 'status', 'finished', 'started_at', ARGV[2], 'ended_at', ARGV[3],
  'last_heartbeat', ARGV[3], 'worker_name', ARGV[4])
local ttl = tonumber(ARGV[5])
local fields = {'type', '1', 'worker_name', ARGV[4]}
if ARGV[11] ~= '' then table.insert(fields, 'return_value'); table.insert(fields, ARGV[11]) end
local more = {'execution_id', ARGV[7], 'execution_started_at', ARGV[8], 'execution_ended_at', ARGV[9]}
for _, v in ipairs(more) do table.insert(fields, v) end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10', '*', unpack(fields))
redis.call('EXPIRE', KEYS[3], ttl)
redis.call('ZADD', KEYS[4], tonumber(ARGV[6]) + ttl, ARGV[12])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[8], ttl)
redis.call('EXPIRE', KEYS[9], ttl)
redis.call('DEL', KEYS[6])
redis.call('ZREM', KEYS[5], ARGV[10])
redis.call('ZREM', KEYS[7], ARGV[7])
if redis.call('HGET', KEYS[1], 'current_job') == ARGV[12] then
  redis.call('HDEL', KEYS[1], 'current_job')
  redis.call('HSET', KEYS[1], 'state', 'idle')
end
return 1
"""
# The worker-hash part of RQ's clean-up of an execution (current job gone, state idle), done
# only while the slot still shows that job: a slot whose finished job is recorded after it
# took its next one (jobctl.worker.completer) must keep showing the next one.
# KEYS[1] worker hash; ARGV[1] job id.
_RELEASE_SLOT = """
if redis.call('HGET', KEYS[1], 'current_job') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'current_job')
  redis.call('HSET', KEYS[1], 'state', 'idle')
end
return 1
"""

_ATTR = "_jobctl_lean_scripts"


def _scripts(connection: Any) -> tuple[Any, Any, Any]:
    scripts = getattr(connection, _ATTR, None)
    if scripts is None:
        scripts = tuple(connection.register_script(s) for s in (_POP_AND_START, _SUCCEED, _RELEASE_SLOT))
        setattr(connection, _ATTR, scripts)
    return scripts


def load_scripts(connection: Any) -> None:
    """SCRIPT LOAD this module's scripts (a Redis that restarted or flushed its script cache)."""
    for script in _scripts(connection):
        script.sha = connection.script_load(script.script)


def _run(script: Any, keys: list[Any], args: list[Any], client: Any) -> Any:
    """Run `script`; in a pipeline by hash alone. redis-py's Script in a pipeline sends SCRIPT
    EXISTS (a round trip of its own) before every batch: a third of the completer's time in
    the 60-slot worker (py-spy). The caller reloads the scripts on NoScriptError (load_scripts)."""
    if isinstance(client, Pipeline):
        return client.evalsha(script.sha, len(keys), *keys, *args)
    return script(keys=keys, args=args, client=client)


def _epoch(dt: datetime) -> str:
    return repr(dt.timestamp())  # as redis-py sends the float RQ passes


def _pop_keys(worker: Any, queue: Any) -> list[str]:
    """The pop script's keys for this slot and queue, built once (a StartedJobRegistry object
    a job otherwise)."""
    cache: dict[str, list[str]] | None = getattr(worker, "_jobctl_pop_keys", None)
    if cache is None:
        cache = worker._jobctl_pop_keys = {}
    keys = cache.get(queue.key)
    if keys is None:
        keys = cache[queue.key] = [
            queue.key, queue.intermediate_queue_key, worker.key, queue.started_job_registry.key,
        ]  # fmt: skip
    return keys


def pop_and_start(worker: Any, queue: Any, job_class: type[Job], serializer: Any) -> tuple[Job, Any] | None:
    """LPOP one job of `queue` and do RQ's prepare_execution + prepare_job_execution +
    Job.perform's PERSIST for `worker`, in one script; restore the job and the worker's
    in-process state as those calls leave it. None when the queue is empty."""
    connection = worker.connection
    pop, _, _ = _scripts(connection)
    while True:
        start = PopStart(worker, queue, job_class)
        reply = pop(keys=start.keys, args=start.args, client=connection)
        if not reply:
            return None
        job = start.restore(reply, serializer)
        if job is not None:
            return job, queue


def pipe_pop(pipe: Any, start: PopStart) -> None:
    """Queue `start`'s pop script on a pipeline (by hash: see _run); its reply goes to
    `start.restore`."""
    pop, _, _ = _scripts(start.worker.connection)
    _run(pop, start.keys, start.args, pipe)


class PopStart:
    """One pop-and-start of `queue` for the slot `worker`: the script's keys and arguments
    (a fresh execution id, the start time), and the job restored from its reply."""

    __slots__ = ("args", "execution_id", "job_class", "keys", "queue", "started", "worker")

    def __init__(self, worker: Any, queue: Any, job_class: type[Job]) -> None:
        self.worker, self.queue, self.job_class = worker, queue, job_class
        self.keys = _pop_keys(worker, queue)
        self.execution_id = uuid4().hex
        self.started = now()
        self.args = [
            job_class.redis_job_namespace_prefix, self.execution_id, _epoch(self.started),
            utcformat(self.started), worker.name, current_timestamp(), DEFAULT_WORKER_TTL,
        ]  # fmt: skip

    def restore(self, reply: Any, serializer: Any) -> Job | None:
        """The started job from a non-empty reply, with the worker's in-process state as RQ's
        preparation leaves it; None when the id's job hash was gone (skipped, as RQ does). A
        job that cannot be restored raises with job_id and queue attached, as RQ does."""
        worker, connection = self.worker, self.worker.connection
        job_id, flat = as_text(reply[0]), reply[1]
        if not flat:
            return None
        job = self.job_class(job_id, connection=connection, serializer=serializer)
        try:
            job.restore(dict(zip(flat[::2], flat[1::2], strict=True)))
        except Exception as exc:
            exc.job_id = job_id  # type: ignore[attr-defined]
            exc.queue = self.queue  # type: ignore[attr-defined]
            raise
        started = self.started
        job.worker_name = worker.name
        job.last_heartbeat = job.started_at = started
        job._status = JobStatus.STARTED
        job._jobctl_persisted = True  # type: ignore[attr-defined]  # JobctlJob.perform skips it
        job._jobctl_started = True  # type: ignore[attr-defined]  # prepare_job_execution is done
        execution = Execution(
            id=self.execution_id, job_id=job_id, connection=connection, worker_name=worker.name
        )
        execution.created_at = execution.last_heartbeat = started
        worker.execution = execution
        worker._state = WorkerStatus.BUSY
        worker.current_job_working_time = 0
        worker.last_heartbeat = started
        return job


def succeed(worker: Any, job: Job, result_ttl: int, execution: Execution | None, client: Any = None) -> bool:
    """RQ's handle_job_success for a job without repeats, with a positive result TTL and an
    execution record: worker counters, job FINISHED and saved, the result, the finished
    registry, the job's expiry, the execution cleaned up, the slot idle (if it still shows the
    job) — one script, sent on `client` (a pipeline) or the worker's connection. False
    (nothing written) when the job is not such a job: the caller takes RQ's path."""
    if execution is None or result_ttl <= 0 or job.started_at is None or job.ended_at is None:
        return False
    _, script, _ = _scripts(worker.connection)
    stored = ""
    if job._result is not None:
        stored = b64encode(job.serializer.dumps(job._result)).decode()
    origin = job.origin
    keys = [
        worker.key, job.key, Result.get_key(job.id),  # type: ignore[no-untyped-call]
        FinishedJobRegistry.key_template.format(origin),
        StartedJobRegistry.key_template.format(origin), execution.key, f"rq:executions:{job.id}",
        job.dependents_key, job.dependencies_key,
    ]  # fmt: skip
    args = [
        repr((job.ended_at - job.started_at).total_seconds()), utcformat(job.started_at),
        utcformat(job.ended_at), worker.name, result_ttl, current_timestamp(), execution.id,
        _epoch(execution.created_at), _epoch(job.ended_at), execution.composite_key, stored, job.id,
    ]  # fmt: skip
    _run(script, keys, args, client if client is not None else worker.connection)
    return True


def release_slot(worker: Any, job_id: str, client: Any) -> None:
    """Clear the slot's current job and mark it idle, if it still shows `job_id`."""
    _, _, script = _scripts(worker.connection)
    _run(script, [worker.key], [job_id], client)
