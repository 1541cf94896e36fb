"""jobctl's benchmarks: jobctl against raw RQ and the raw database drivers, in one run.

`python -m benchmarks [--only NAME...] [--size small|default] [--json FILE]`. One module per
benchmark (or per pair of backends); `MODULES` is the order they run in. A capability that
has not been built yet is a row that says so, never a number.
"""

from __future__ import annotations

import importlib

from benchmarks.harness import Benchmark

MODULES = (
    "enqueue_single",
    "enqueue_bulk",
    "worker_throughput",
    "cli_help",
    "jobs_list",
    "concurrent_io",
    "process_pool",
    "dashboard_refresh",
    "scheduler_delay",
    "job_progress",
    "extraction_quality",
    "content",
    "context_sync",
    "analytics_sync",
    "http_api",
    "retention_prune",
)


def all_benchmarks() -> list[Benchmark]:
    out: list[Benchmark] = []
    for name in MODULES:
        out.extend(importlib.import_module(f"benchmarks.{name}").BENCHMARKS)
    return out
