"""A job's progress and log lines for one-shot read commands, without redis-py.

`jobctl jobs show` and `jobctl jobs logs` read two keys; going through redis-py (import and
connect) cost them ~0.4 s (see jobctl.queue.light_redis). This path also never starts the
embedded Redis: a read command that finds it stopped reports nothing instead (no worker can
have reported anything since it stopped, and `jobctl redis status` says why).
"""

from __future__ import annotations

from jobctl.domain.progress import JobActivity, JobProgress, LogLine
from jobctl.queue.embedded_redis import embedded_redis_url, socket_path
from jobctl.queue.light_redis import open_light
from jobctl.queue.progress import read_activity_light
from jobctl.settings import Settings

__all__ = ["JobActivity", "JobProgress", "LogLine", "light_activity"]


def light_activity(
    settings: Settings, job_id: str, *, last: int | None, after_seq: int
) -> JobActivity | None:
    """The activity through the light client; None when the URL needs redis-py."""
    if settings.redis_url is None:
        if not socket_path(settings.data_dir).exists():
            return JobActivity(None, [], 0)
        url = embedded_redis_url(settings.data_dir)
    else:
        url = settings.redis_url
    client = open_light(url)
    if client is None:
        return None
    with client:
        return read_activity_light(client, job_id, last=last, after_seq=after_seq)
