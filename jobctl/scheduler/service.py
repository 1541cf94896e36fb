"""The scheduler as a process: its lease connection, the health server, signal handling."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from jobctl.queue.lease import SCHEDULER_LEASE, RedisLease
from jobctl.scheduler.loop import EnqueueFn, Scheduler, SchedulerConfig
from jobctl.scheduler.retention import RetentionLoop, RetentionSweep
from jobctl.store.schedules_repo import ScheduleRepository
from jobctl.worker.health import HealthServer, process_registry

log = logging.getLogger("jobctl.scheduler")


def serve(
    repo: ScheduleRepository,
    redis_url: str,
    enqueue: EnqueueFn,
    *,
    once: bool = False,
    health_port: int | None = None,
    health_host: str = "127.0.0.1",
    lease_ttl_s: float = 10.0,
    health_interval_s: float = 60.0,
    name: str | None = None,
    retention: Callable[[redis.Redis, str], RetentionSweep] | None = None,
) -> bool:
    """Run the loop until SIGTERM/SIGINT (or one pass with `once`); True if it ever led.

    `retention` builds the retention sweep (given the lease connection and this process's
    name): a thread runs it hourly beside the loop (not with `once`), under its own lease, so
    a long prune never delays a tick and any one scheduler of the fleet does it."""
    # The lease gets its own client with a socket timeout: a hung Redis must not hold the leader
    # past its lease (the producer's client has none, for RQ's blocking calls).
    conn = redis.Redis.from_url(redis_url, socket_timeout=max(1.0, lease_ttl_s / 3), socket_connect_timeout=5)
    holder = name or f"{socket.gethostname()}.{os.getpid()}"
    scheduler = Scheduler(
        repo, RedisLease(conn, SCHEDULER_LEASE, holder, lease_ttl_s), enqueue,
        SchedulerConfig(health_interval_s=health_interval_s),
    )  # fmt: skip
    server: HealthServer | None = None
    try:
        if health_port is not None:
            registry = process_registry(scheduler.metrics)
            server = HealthServer(health_port, scheduler.health, registry, health_host).start()
        stop = threading.Event()
        log.info(f"scheduler {holder} starting", extra={"event": "scheduler-start"})
        sweeper = None if once or retention is None else RetentionLoop(retention(conn, holder), stop).start()
        with stop_on_signals(stop):
            led = scheduler.run(stop, once=once)
        stop.set()
        if sweeper is not None:
            sweeper.join(timeout=30)  # a batch in flight finishes (each is short), then it stops
        log.info(f"scheduler {holder} stopped", extra={"event": "scheduler-stop"})
        return led
    finally:
        if server is not None:
            server.stop()
        conn.close()


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT end the loop after the current pass (the lease is released)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
