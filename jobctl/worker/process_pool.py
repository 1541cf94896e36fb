"""`--pool process`: one process per slot, for CPU-heavy jobs or isolation.

Each child is forked once and then runs jobs in-process like a thread slot (no fork per job:
its database engine and Redis pool are built once and reused). The parent only supervises:
it restarts a child that dies (the new child's start-up recovery hands the dead one's job back
at once), forwards signals, and serves /healthz and /metrics for all of them. Children die with
the parent (PR_SET_PDEATHSIG), so killing the parent never leaves an orphan running a job that
others will also retry.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from jobctl.domain.errors import ExitCode
from jobctl.queue.backends import Backends
from jobctl.worker.pool import PoolOptions, WorkerPool, default_worker_name
from jobctl.worker.runtime import WorkerRuntime

log = logging.getLogger("jobctl.worker")

PR_SET_PDEATHSIG = 1
RESTART_BACKOFF_MAX_S = 30.0


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: children then outlive a killed parent
        log.warning("cannot tie worker children to the parent's life on this platform")


@dataclass
class ProcessPool:
    backends: Backends
    options: PoolOptions
    owner: str = ""
    runtime: WorkerRuntime | None = None  # the parent runs no jobs itself
    children: list[str] = field(default_factory=list)
    last_tick: float = field(default_factory=time.monotonic)
    _pids: dict[int, int] = field(default_factory=dict)  # pid -> slot
    _stopping: int = 0
    _forced: bool = False

    def run(self) -> int:
        self.owner = self.options.name or default_worker_name()
        self.children = [f"{self.owner}.{i}" for i in range(self.options.concurrency)]
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        for slot in range(self.options.concurrency):
            self._spawn(slot)
        health = self.options.health(self) if self.options.health else None  # type: ignore[arg-type]
        log.info(
            f"worker {self.owner} started: {self.options.concurrency} process(es)"
            f" on {', '.join(self.options.queues)}",
            extra={"worker": self.owner, "event": "worker-start"},
        )
        codes: list[int] = []
        backoff: dict[int, float] = {}
        try:
            while self._pids:
                time.sleep(0.2)
                self.last_tick = time.monotonic()
                codes += self._reap(backoff)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if health is not None:
                health.stop()
            log.info(f"worker {self.owner} stopped", extra={"worker": self.owner, "event": "worker-stop"})
        if self._forced or any(c == ExitCode.FORCED_SHUTDOWN for c in codes):
            return int(ExitCode.FORCED_SHUTDOWN)
        return int(ExitCode.OK)

    def _reap(self, backoff: dict[int, float]) -> list[int]:
        codes: list[int] = []
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return codes
            if pid == 0:
                return codes
            slot = self._pids.pop(pid, None)
            if slot is None:
                continue
            code = os.waitstatus_to_exitcode(status)
            codes.append(code)
            if self._stopping or (self.options.burst and code == 0):
                continue
            wait = backoff.get(slot, 0.5)
            log.error(
                f"worker process {self.children[slot]} (pid {pid}) died with {code}; restarting in {wait:g}s",
                extra={"worker": self.children[slot], "event": "child-died"},
            )
            time.sleep(wait)
            backoff[slot] = min(wait * 2, RESTART_BACKOFF_MAX_S)
            self._spawn(slot)

    def _spawn(self, slot: int) -> None:
        pid = os.fork()
        if pid:
            self._pids[pid] = slot
            return
        code = 1
        try:
            _die_with_parent()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            options = PoolOptions(
                queues=self.options.queues, concurrency=1, name=self.children[slot], burst=self.options.burst,
                grace_s=self.options.grace_s, rq_log_level=self.options.rq_log_level,
                stats_every_s=self.options.stats_every_s,
            )  # fmt: skip
            code = WorkerPool(Backends(self.backends.settings), options).run()
        except BaseException as exc:  # the child must never return into the parent's code
            log.error(f"worker process {self.children[slot]} failed: {type(exc).__name__}: {exc}")
        finally:
            logging.shutdown()
            os._exit(code)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping += 1
        if self._stopping > 1:
            self._forced = True
        for pid in list(self._pids):  # each child does the same: warm stop, then forced stop
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def info(self) -> dict[str, Any]:
        return {"pool": "process", "children": self.children, "pids": sorted(self._pids)}
