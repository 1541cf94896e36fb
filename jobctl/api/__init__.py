"""The Python API the CLI and the dashboard call (and library users may): one set of rules.

`jobs` enqueues and acts on jobs; `operations` runs workers and manages the backends;
`schedules` manages cron schedules and runs the scheduler.
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
from jobctl.api.schedules import (
    DefaultResult,
    ScheduleAPI,
    ScheduleView,
    TriggerResult,
    register_owner_kind,
    run_scheduler,
)

__all__ = [
    "DefaultResult",
    "EnqueueRequest",
    "JobctlAPI",
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
