"""The Python API the CLI and the dashboard call (and library users may): one set of rules.

`jobs` enqueues and acts on jobs; `operations` runs workers and manages the backends.
"""

from __future__ import annotations

from jobctl.api.jobs import EnqueueRequest, JobctlAPI, QueueOverview
from jobctl.api.operations import (
    database_status,
    embedded_redis_status,
    run_worker,
    stop_embedded_redis,
    upgrade_database,
)

__all__ = [
    "EnqueueRequest",
    "JobctlAPI",
    "QueueOverview",
    "database_status",
    "embedded_redis_status",
    "run_worker",
    "stop_embedded_redis",
    "upgrade_database",
]
