"""Job progress and log lines in Redis: live, cheap, bounded.

Keys (both expire `log_ttl_seconds` after the last write, so finished jobs keep them a while):
- `jobctl:progress:{id}` hash: done, total, message, updated_at, attempt, seq (log line counter).
- `jobctl:logs:{id}` list of "{seq} {json}" lines, at most `log_max_lines` and `log_max_bytes`.

Why not the Job row: the row is the system of record for status and result; progress is a
diagnostic written many times a second, and writing it to SQL would cost every job a round
trip on the hot path. Redis with a long TTL keeps the last lines for a week (a setting).

Writes never block the job: `ProgressWriter` keeps the latest progress and the last lines per
job in memory (older lines are dropped there, never sent) and a background thread sends them
every `flush_s` in one pipeline; the Lua script appends, trims by lines and by bytes, atomically.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from jobctl.domain.progress import JobProgress, LogLine
from jobctl.domain.redaction import redact
from jobctl.domain.timeparse import utcnow

log = logging.getLogger("jobctl.progress")

PROGRESS_PREFIX = "jobctl:progress:"
LOGS_PREFIX = "jobctl:logs:"

# KEYS[1] logs list, KEYS[2] progress hash; ARGV: max_lines, max_bytes, ttl_s, line...
_APPEND = """
local max_lines, max_bytes, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local n = #ARGV - 3
local seq = redis.call('HINCRBY', KEYS[2], 'seq', n) - n
for i = 4, #ARGV do
  seq = seq + 1
  redis.call('RPUSH', KEYS[1], seq .. ' ' .. ARGV[i])
end
redis.call('LTRIM', KEYS[1], -max_lines, -1)
local lines = redis.call('LRANGE', KEYS[1], 0, -1)
local total = 0
for i = 1, #lines do total = total + #lines[i] end
local i = 1
while total > max_bytes and i <= #lines do
  total = total - #lines[i]
  redis.call('LPOP', KEYS[1])
  i = i + 1
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
return seq
"""


def progress_key(job_id: str) -> str:
    return f"{PROGRESS_PREFIX}{job_id}"


def logs_key(job_id: str) -> str:
    return f"{LOGS_PREFIX}{job_id}"


@dataclass
class _Pending:
    attempt: int
    progress: dict[str, str] | None = None
    lines: deque[str] = field(default_factory=deque)


class ProgressWriter:
    """One per worker process. progress()/log() only touch memory; flush() sends (the flusher
    thread every `flush_s`, and the runner when a job ends so readers see its last lines)."""

    def __init__(
        self, redis: Any, *, max_lines: int, max_bytes: int, ttl_s: int, flush_s: float = 0.2
    ) -> None:
        self.redis = redis
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.flush_s = flush_s
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._script: Any = None

    def _slot(self, job_id: str, attempt: int) -> _Pending:
        slot = self._pending.get(job_id)
        if slot is None:
            slot = self._pending[job_id] = _Pending(attempt, lines=deque(maxlen=self.max_lines))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="jobctl-progress", daemon=True)
                self._thread.start()
        return slot

    def progress(
        self, job_id: str, attempt: int, done: float, total: float | None, message: str | None
    ) -> None:
        entry = {
            "done": repr(float(done)),
            "total": "" if total is None else repr(float(total)),
            "message": "" if message is None else redact(str(message))[:500],
            "updated_at": utcnow().isoformat(),
            "attempt": str(attempt),
        }
        with self._lock:
            self._slot(job_id, attempt).progress = entry

    def log(self, job_id: str, attempt: int, message: str, fields: dict[str, Any]) -> None:
        body = {"ts": utcnow().isoformat(), "attempt": attempt, "message": redact(str(message))}
        for key, value in fields.items():
            body.setdefault(key, redact(value) if isinstance(value, str) else value)
        line = json.dumps(body, default=str, ensure_ascii=False)
        limit = max(64, self.max_bytes - 16)  # one line alone must fit the byte cap (seq prefix)
        if len(line.encode()) > limit:
            body = {k: body[k] for k in ("ts", "attempt")} | {"message": body["message"][: limit // 4]}
            line = json.dumps(body, default=str, ensure_ascii=False)
        with self._lock:
            self._slot(job_id, attempt).lines.append(line)

    def flush(self, job_id: str | None = None) -> None:
        """Send what is pending (for one job, or all) in one pipeline."""
        with self._lock:
            if job_id is None:
                batch, self._pending = self._pending, {}
            else:
                one = self._pending.pop(job_id, None)
                batch = {job_id: one} if one is not None else {}
        if not batch:
            return
        if self._script is None:
            self._script = self.redis.register_script(_APPEND)
        with self.redis.pipeline(transaction=False) as pipe:
            for jid, slot in batch.items():
                if slot.progress is not None:
                    pipe.hset(progress_key(jid), mapping=slot.progress)
                    pipe.expire(progress_key(jid), self.ttl_s)
                if slot.lines:
                    args = [self.max_lines, self.max_bytes, self.ttl_s, *slot.lines]
                    self._script(keys=[logs_key(jid), progress_key(jid)], args=args, client=pipe)
            pipe.execute()

    def _run(self) -> None:
        while not self._wake.wait(self.flush_s):
            try:
                self.flush()
            except Exception as exc:  # a Redis blip loses a progress tick, never the job
                log.warning(f"progress flush failed: {exc}", extra={"event": "progress-error"})


def read_progress(redis: Any, job_id: str) -> JobProgress | None:
    return _progress_of(redis.hgetall(progress_key(job_id)))


def read_progress_many(redis: Any, job_ids: list[str]) -> dict[str, JobProgress]:
    with redis.pipeline(transaction=False) as pipe:
        for jid in job_ids:
            pipe.hgetall(progress_key(jid))
        raw = pipe.execute()
    out = {}
    for jid, data in zip(job_ids, raw, strict=True):
        p = _progress_of(data)
        if p is not None:
            out[jid] = p
    return out


def _progress_of(data: dict[Any, Any]) -> JobProgress | None:
    h = {_s(k): _s(v) for k, v in data.items()}
    if "done" not in h:
        return None
    return JobProgress(
        done=float(h["done"]),
        total=float(h["total"]) if h.get("total") else None,
        message=h.get("message") or None,
        updated_at=h.get("updated_at", ""),
    )


def read_logs(redis: Any, job_id: str, after_seq: int = 0) -> list[LogLine]:
    out = []
    for raw in redis.lrange(logs_key(job_id), 0, -1):
        seq_text, _, body = _s(raw).partition(" ")
        seq = int(seq_text)
        if seq <= after_seq:
            continue
        data = json.loads(body)
        out.append(
            LogLine(
                seq=seq,
                ts=str(data.pop("ts", "")),
                attempt=int(data.pop("attempt", 0)),
                message=str(data.pop("message", "")),
                fields=data,
            )
        )
    return out


def delete_progress(redis: Any, job_id: str) -> None:
    redis.delete(progress_key(job_id), logs_key(job_id))


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
