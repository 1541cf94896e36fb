"""The Python API the CLI and the dashboard call (and library users may): one set of rules.

`jobs` enqueues and acts on jobs; `operations` runs workers and manages the backends;
`schedules` manages cron schedules and runs the scheduler.

Names are loaded on first use (PEP 562): `jobs list` needs `JobctlAPI`, not the scheduler's
croniter or the worker's RQ, and eager imports here cost it ~40 ms.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobctl.api.activity import JobActivity, JobProgress, LogLine
    from jobctl.api.jobs import EnqueueRequest, JobctlAPI, QueueOverview
    from jobctl.api.operations import (
        database_status,
        embedded_redis_status,
        run_worker,
        stop_embedded_redis,
        upgrade_database,
    )
    from jobctl.api.schedules import (
        DefaultResult,
        ScheduleAPI,
        ScheduleView,
        TriggerResult,
        register_owner_kind,
        run_scheduler,
    )

_WHERE = {
    "JobActivity": "activity",
    "JobProgress": "activity",
    "LogLine": "activity",
    "EnqueueRequest": "jobs",
    "JobctlAPI": "jobs",
    "QueueOverview": "jobs",
    "database_status": "operations",
    "embedded_redis_status": "operations",
    "run_worker": "operations",
    "stop_embedded_redis": "operations",
    "upgrade_database": "operations",
    "DefaultResult": "schedules",
    "ScheduleAPI": "schedules",
    "ScheduleView": "schedules",
    "TriggerResult": "schedules",
    "register_owner_kind": "schedules",
    "run_scheduler": "schedules",
}

__all__ = [
    "DefaultResult",
    "EnqueueRequest",
    "JobActivity",
    "JobProgress",
    "JobctlAPI",
    "LogLine",
    "QueueOverview",
    "ScheduleAPI",
    "ScheduleView",
    "TriggerResult",
    "database_status",
    "embedded_redis_status",
    "register_owner_kind",
    "run_scheduler",
    "run_worker",
    "stop_embedded_redis",
    "upgrade_database",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'jobctl.api' has no attribute {name!r}")
    value = getattr(import_module(f"jobctl.api.{module}"), name)
    globals()[name] = value
    return value
