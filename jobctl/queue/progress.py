"""Job progress and log lines in Redis: live, cheap for the job, bounded.

Keys (both expire `[jobs] log_ttl_seconds` after the job's last write, so a finished job keeps
them a while, then they go by themselves):
- `jobctl:progress:{id}` hash: done, total, message, updated_at, attempt (the last progress);
  seq (lines logged so far, kept or not) and bytes (size of the kept lines).
- `jobctl:logs:{id}` list of "{seq} {json}" entries: at most `log_max_lines` of them, and at
  most `log_max_bytes` together; older entries are dropped first.

Why not the Job row: the row is the system of record for status and result; progress is a
diagnostic a job may write thousands of times a second, and putting it in SQL would add a
round trip to every call and let a chatty job fill the database.

Writes never wait for Redis: `ProgressWriter` (one per worker process) keeps each job's latest
progress and its newest `log_max_lines` calls in memory, as made (a job that logs 100,000
lines in a second has at most `log_max_lines` of them encoded and sent), and one background
thread encodes and sends what is pending every `flush_s` in one pipeline. The Lua script appends and trims
atomically, in O(lines added + lines dropped). The runner flushes a job's rest when it ends,
before its row turns final, so a reader that stops at the final status has seen every line.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jobctl.domain.progress import JobActivity, JobProgress, LogLine
from jobctl.domain.redaction import redact
from jobctl.queue.light_redis import LightRedis

log = logging.getLogger("jobctl.progress")

PROGRESS_PREFIX = "jobctl:progress:"
LOGS_PREFIX = "jobctl:logs:"
MESSAGE_CHARS = 500  # a progress message is a status line, not a log

# KEYS[1] logs list, KEYS[2] progress hash.
# ARGV: max_lines, max_bytes, ttl_s, skipped (lines dropped in memory: they still take numbers), line...
_APPEND = """
local max_lines, max_bytes, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n = redis.call('LLEN', KEYS[1])
local bytes = 0
if n > 0 then bytes = tonumber(redis.call('HGET', KEYS[2], 'bytes') or '0') end
local seq = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0') + tonumber(ARGV[4])
for i = 5, #ARGV do
  seq = seq + 1
  local entry = seq .. ' ' .. ARGV[i]
  redis.call('RPUSH', KEYS[1], entry)
  bytes = bytes + #entry
  n = n + 1
end
while n > 0 and (n > max_lines or bytes > max_bytes) do
  bytes = bytes - #redis.call('LPOP', KEYS[1])
  n = n - 1
end
redis.call('HSET', KEYS[2], 'seq', seq, 'bytes', bytes)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return seq
"""


def progress_key(job_id: str) -> str:
    return f"{PROGRESS_PREFIX}{job_id}"


def logs_key(job_id: str) -> str:
    return f"{LOGS_PREFIX}{job_id}"


# A log call as the job made it: (time.time(), attempt, message, fields). Encoded (redacted,
# JSON) by the flusher, and only if it is still among the newest when the flush comes.
_RawLine = tuple[float, int, str, dict[str, Any]]
# A progress call: (time.time(), attempt, done, total, message).
_RawProgress = tuple[float, int, float, float | None, str | None]


@dataclass
class _Pending:
    """One job's unsent progress and newest lines (a deque of at most log_max_lines)."""

    lines: deque[_RawLine]
    progress: _RawProgress | None = None
    skipped: int = 0  # lines dropped here before they were ever sent


class ProgressWriter:
    """One per worker process. progress()/log() only append to memory (about 2 µs); flush()
    encodes and sends: the flusher thread every `flush_s`, and the runner when a job ends so
    readers see its last lines. Lines are encoded at flush time, within `flush_s` of the call:
    a field holding a mutable object shows it as it is then."""

    def __init__(
        self, redis: Any, *, max_lines: int, max_bytes: int, ttl_s: int, flush_s: float = 0.2
    ) -> None:
        self.redis = redis
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.flush_s = flush_s
        # One line alone must fit the byte cap, with room for its "{seq} " prefix.
        self.line_limit = max(64, max_bytes - 24)
        self._lock = threading.Lock()  # guards _pending; held for microseconds
        self._send_lock = threading.Lock()  # one flush at a time: batches reach Redis in order
        self._pending: dict[str, _Pending] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._script: Any = None

    def _slot(self, job_id: str) -> _Pending:
        slot = self._pending.get(job_id)
        if slot is None:
            slot = self._pending[job_id] = _Pending(deque(maxlen=self.max_lines))
            if self._thread is None:  # started by the first job that reports anything
                self._thread = threading.Thread(target=self._run, name="jobctl-progress", daemon=True)
                self._thread.start()
        return slot

    def progress(
        self, job_id: str, attempt: int, done: float, total: float | None, message: str | None
    ) -> None:
        # Numbers are checked here, so a bad call fails in the job that made it.
        entry = (time.time(), attempt, float(done), None if total is None else float(total), message)
        with self._lock:
            self._slot(job_id).progress = entry

    def log(self, job_id: str, attempt: int, message: str, fields: dict[str, Any]) -> None:
        with self._lock:
            slot = self._slot(job_id)
            if len(slot.lines) == self.max_lines:
                slot.skipped += 1  # the deque drops its oldest line on append
            slot.lines.append((time.time(), attempt, message, fields))

    def flush(self, job_id: str | None = None) -> None:
        """Send what is pending (for one job, or for all) in one pipeline."""
        with self._send_lock:
            with self._lock:
                if job_id is None:
                    batch, self._pending = self._pending, {}
                else:
                    one = self._pending.pop(job_id, None)
                    batch = {job_id: one} if one is not None else {}
            if batch:
                self._send(batch)

    def _send(self, batch: dict[str, _Pending]) -> None:
        if self._script is None:
            self._script = self.redis.register_script(_APPEND)
        with self.redis.pipeline(transaction=False) as pipe:
            for jid, slot in batch.items():
                if slot.progress is not None:
                    pipe.hset(progress_key(jid), mapping=_progress_entry(slot.progress))
                    pipe.expire(progress_key(jid), self.ttl_s)
                if slot.lines:
                    lines = [self._encode(raw) for raw in slot.lines]
                    args = [self.max_lines, self.max_bytes, self.ttl_s, slot.skipped, *lines]
                    self._script(keys=[logs_key(jid), progress_key(jid)], args=args, client=pipe)
            pipe.execute()

    def _encode(self, raw: _RawLine) -> str:
        """One line's JSON, secrets masked; cut to fit the byte cap if it alone is over it."""
        ts, attempt, message, fields = raw
        body: dict[str, Any] = {"ts": _iso(ts), "attempt": attempt, "message": redact(str(message))}
        for key, value in fields.items():
            body.setdefault(key, redact(value) if isinstance(value, str) else value)
        try:
            line = json.dumps(body, default=str, ensure_ascii=False)
        except ValueError as exc:  # e.g. a field refers to itself
            body = {k: body[k] for k in ("ts", "attempt", "message")} | {"unencodable": str(exc)}
            line = json.dumps(body, ensure_ascii=False)
        if len(line) * 4 > self.line_limit and len(line.encode()) > self.line_limit:
            keep = self.line_limit // 4 - 80  # 4 bytes per character at worst, room for the keys
            short = {"ts": body["ts"], "attempt": attempt, "message": body["message"][:keep] + "…"}
            line = json.dumps(short | {"truncated": True}, ensure_ascii=False)
        return line

    def close(self) -> None:
        """Stop the flusher thread after one last flush (worker shutdown)."""
        self._stop.set()
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_s):
            try:
                self.flush()
            except Exception as exc:  # a Redis blip loses a progress tick, never the job
                log.warning(f"progress flush failed: {exc}", extra={"event": "progress-error"})


# -- read side (the API) ---------------------------------------------------------------------


def _progress_entry(raw: _RawProgress) -> dict[str, str]:
    ts, attempt, done, total, message = raw
    return {
        "done": repr(done),
        "total": "" if total is None else repr(total),
        "message": "" if message is None else redact(str(message))[:MESSAGE_CHARS],
        "updated_at": _iso(ts),
        "attempt": str(attempt),
    }


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def read_activity(redis: Any, job_id: str, *, last: int | None = None, after_seq: int = 0) -> JobActivity:
    """Progress and kept lines (the `last` N of them, and only those after `after_seq`)."""
    progress, lines = _activity_commands(job_id, last)
    with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(progress[1])
        pipe.lrange(*lines[1:])
        data, raw_lines = pipe.execute()
    return _activity_of(data, raw_lines, after_seq)


def read_activity_light(
    client: LightRedis, job_id: str, *, last: int | None = None, after_seq: int = 0
) -> JobActivity:
    """read_activity over the light client of one-shot commands (`jobs show`, `jobs logs`)."""
    flat, raw_lines = client.execute(*_activity_commands(job_id, last))
    return _activity_of(dict(zip(flat[::2], flat[1::2], strict=True)), raw_lines, after_seq)


def _activity_commands(job_id: str, last: int | None) -> tuple[list[str | int], list[str | int]]:
    start, stop = (0, -1) if last is None else ((-last, -1) if last > 0 else (1, 0))  # (1, 0): none
    return ["HGETALL", progress_key(job_id)], ["LRANGE", logs_key(job_id), start, stop]


def _activity_of(data: dict[Any, Any], raw_lines: list[Any], after_seq: int) -> JobActivity:
    h = {_s(k): _s(v) for k, v in data.items()}
    lines = [line for line in map(_line_of, raw_lines) if line.seq > after_seq]
    return JobActivity(_progress_of(h), lines, int(h.get("seq") or 0))


def read_progress_many(redis: Any, job_ids: list[str]) -> dict[str, JobProgress]:
    """The progress of each job that reported any (one round trip)."""
    if not job_ids:
        return {}
    with redis.pipeline(transaction=False) as pipe:
        for jid in job_ids:
            pipe.hmget(progress_key(jid), *_PROGRESS_FIELDS)
        raw = pipe.execute()
    out = {}
    for jid, values in zip(job_ids, raw, strict=True):
        h = {k: _s(v) for k, v in zip(_PROGRESS_FIELDS, values, strict=True) if v is not None}
        p = _progress_of(h)
        if p is not None:
            out[jid] = p
    return out


_PROGRESS_FIELDS = ("done", "total", "message", "updated_at", "attempt")


def _progress_of(h: dict[str, str]) -> JobProgress | None:
    if "done" not in h:  # a job that logged lines but never reported progress
        return None
    return JobProgress(
        done=float(h["done"]),
        total=float(h["total"]) if h.get("total") else None,
        message=h.get("message") or None,
        updated_at=h.get("updated_at", ""),
        attempt=int(h.get("attempt") or 0),
    )


def _line_of(raw: Any) -> LogLine:
    seq_text, _, body = _s(raw).partition(" ")
    data = json.loads(body)
    return LogLine(
        seq=int(seq_text),
        ts=str(data.pop("ts", "")),
        attempt=int(data.pop("attempt", 0)),
        message=str(data.pop("message", "")),
        fields=data,
    )


def delete_progress(redis: Any, job_id: str) -> None:
    redis.delete(progress_key(job_id), logs_key(job_id))


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
