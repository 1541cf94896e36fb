"""The Redis side every process shares: connection, producer, RQ's job class, leases, stats.

The worker side (slots, runtime, liveness, recovery, the runner) lives in jobctl.worker.

RQ jobs name their function `jobctl.queue.runner.execute` (RQ jobs already in Redis, and
those enqueued by workers not yet upgraded, carry that name). RQ resolves it by importing
`jobctl.queue` and reading `runner.execute` from it when `jobctl.queue.runner` is no module:
`runner` here is jobctl.worker.runner, loaded on first use (a compatibility alias, not an
import of the layer above: nothing below jobctl.worker loads it).
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    if name == "runner":
        return importlib.import_module("jobctl.worker.runner")
    raise AttributeError(f"module 'jobctl.queue' has no attribute {name!r}")
