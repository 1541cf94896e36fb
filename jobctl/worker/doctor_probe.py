"""`jobctl doctor`'s reads of Redis: reachability, live workers, leases, jobs missing from RQ.

Read-only by construction: nothing here writes a key, and the embedded Redis is looked at,
never started (`ensure_embedded_redis` would start it). Live workers come from jobctl's own
per-process heartbeat keys (queue/liveness.py: renewed every heartbeat_seconds, gone
stall_seconds after the process stops), not from RQ's worker hashes, whose heartbeat RQ
refreshes only every few seconds and which outlive a killed process for minutes.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from redis.exceptions import RedisError
from rq import Queue

from jobctl.domain.redaction import mask_url, redact
from jobctl.queue.connection import _password
from jobctl.queue.embedded_redis import embedded_redis_status
from jobctl.queue.lease import SCHEDULER_LEASE, RedisLease
from jobctl.queue.rq_job import SERIALIZER, JobctlJob
from jobctl.settings import Settings
from jobctl.store.reconcile_queries import PendingRef
from jobctl.worker.liveness import HEARTBEAT_PREFIX
from jobctl.worker.reconciler import present_in_rq

PROBE_TIMEOUT_S = 5.0
# LPOS (the reconciler's presence check) arrived in Redis 6.0.6.
MIN_REDIS_VERSION = (6, 0, 6)


@dataclass
class RedisProbe:
    url: str  # masked
    embedded: bool
    client: redis.Redis | None = None  # open when reachable (caller closes)
    running: bool = True  # embedded: whether the server answers (doctor never starts it)
    version: str | None = None
    latency_ms: float | None = None
    maxmemory: int = 0
    maxmemory_policy: str | None = None
    error: str | None = None

    @property
    def version_ok(self) -> bool:
        try:
            parts = tuple(int(p) for p in (self.version or "").split(".")[:3])
        except ValueError:
            return True  # a build with an odd version string: do not guess
        return parts >= MIN_REDIS_VERSION


def probe_redis(settings: Settings, *, pings: int = 5) -> RedisProbe:
    """PING a few times, read INFO; never raises for an unreachable server."""
    if settings.redis_url is None:
        status = embedded_redis_status(settings.data_dir)
        probe = RedisProbe(url=status.url, embedded=True, running=status.running, version=status.version)
        if not status.running:
            return probe
        url = status.url
    else:
        url = settings.redis_url
        probe = RedisProbe(url=mask_url(url), embedded=False)
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=PROBE_TIMEOUT_S, socket_timeout=PROBE_TIMEOUT_S
        )
    except ValueError as exc:
        probe.error = f"invalid Redis URL {mask_url(url)}: {redact(str(exc))}"
        return probe
    try:
        rounds = []
        for _ in range(max(1, pings)):
            t = time.perf_counter()
            client.ping()
            rounds.append((time.perf_counter() - t) * 1000)
        probe.latency_ms = round(statistics.median(rounds), 2)
        info: dict[str, Any] = client.info("server") | client.info("memory")
    except (RedisError, OSError) as exc:
        client.close()
        probe.error = f"cannot reach Redis at {mask_url(url)}: {redact(str(exc), _password(url))}"
        return probe
    probe.version = str(info.get("redis_version") or probe.version or "") or None
    probe.maxmemory = int(info.get("maxmemory") or 0)
    probe.maxmemory_policy = str(info.get("maxmemory_policy") or "") or None
    probe.client = client
    return probe


@dataclass(frozen=True)
class LiveWorker:
    """A worker process with a live heartbeat, as it describes itself in its heartbeat."""

    owner: str
    host: str | None
    pid: int | None
    queues: list[str]
    concurrency: int
    running: list[str]
    pool: str | None
    expires_in_s: float | None  # heartbeat TTL left

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner, "host": self.host, "pid": self.pid, "queues": self.queues,
            "concurrency": self.concurrency, "running": len(self.running), "pool": self.pool,
        }  # fmt: skip


def live_workers(client: redis.Redis) -> list[LiveWorker]:
    """Every owner whose heartbeat key exists (SCAN: never blocks Redis like KEYS would)."""
    keys = sorted(_text(k) for k in client.scan_iter(match=f"{HEARTBEAT_PREFIX}*", count=1000))
    if not keys:
        return []
    with client.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hget(key, "info")
            pipe.pttl(key)
        answers = pipe.execute()
    out = []
    for i, key in enumerate(keys):
        raw, ttl = answers[2 * i], answers[2 * i + 1]
        if raw is None:  # expired between SCAN and HGET
            continue
        try:
            info = dict(json.loads(raw))
        except (ValueError, TypeError):
            info = {}
        out.append(
            LiveWorker(
                owner=key[len(HEARTBEAT_PREFIX) :],
                host=info.get("host"),
                pid=info.get("pid"),
                queues=[str(q) for q in info.get("queues", [])],
                concurrency=int(info.get("concurrency") or 1),
                running=[str(j) for j in info.get("running", [])],
                pool=info.get("pool"),
                expires_in_s=ttl / 1000 if isinstance(ttl, int) and ttl >= 0 else None,
            )
        )
    return out


@dataclass(frozen=True)
class LeaseState:
    holder: str | None
    expires_in_s: float | None


def lease_state(client: redis.Redis, name: str) -> LeaseState:
    """Who holds the named lease (queue/lease.py) and for how long; read-only."""
    lease = RedisLease(client, name, holder="", ttl_s=0)
    holder = lease.current_holder()
    return LeaseState(holder, lease.remaining_s() if holder is not None else None)


def scheduler_lease(client: redis.Redis) -> LeaseState:
    return lease_state(client, SCHEDULER_LEASE)


@dataclass
class Presence:
    missing: list[PendingRef] = field(default_factory=list)
    checked: int = 0


def missing_from_rq(client: redis.Redis, refs: Sequence[PendingRef], now: datetime) -> Presence:
    """The rows among `refs` that neither a worker nor RQ's scheduler can reach in Redis (the
    reconciler's own test, one atomic read-only script per row, pipelined)."""
    result = Presence(checked=len(refs))
    queues: dict[str, Queue] = {}
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        answers = present_in_rq(
            client,
            [(r.id, queues.setdefault(r.queue, _queue(client, r.queue))) for r in chunk],
            now.timestamp(),
        )
        result.missing += [r for r, present in zip(chunk, answers, strict=True) if not present]
    return result


def _queue(client: redis.Redis, name: str) -> Queue:
    return Queue(name, connection=client, job_class=JobctlJob, serializer=SERIALIZER)


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)
