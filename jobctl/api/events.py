"""Job events: the recent transitions and following new ones (`jobctl events [-f]`).

They come from the `jobctl:events` Redis Stream (jobctl.queue.events): a bounded history,
read newest first in pages and filtered here (type, organisation, queue), and a follow that
blocks on XREAD and returns whatever arrived, in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobctl.api.jobs import JobctlAPI
    from jobctl.queue.events import JobEvent

PAGE = 500  # stream entries read per XREVRANGE while looking for matches
FOLLOW_BLOCK_MS = 1000  # one XREAD waits this long, then the loop looks again (Ctrl-C is seen at once)


@dataclass(frozen=True)
class EventFilter:
    job_types: Sequence[str] = ()
    organization_id: str | None = None
    queues: Sequence[str] = ()

    def matches(self, e: JobEvent) -> bool:
        return (
            (not self.job_types or e.job_type in self.job_types)
            and (self.organization_id is None or e.organization_id == self.organization_id)
            and (not self.queues or e.queue in self.queues)
        )


def recent_events(api: JobctlAPI, flt: EventFilter, last: int) -> tuple[list[JobEvent], str]:
    """The `last` newest matching events, oldest first, and the stream position to follow
    from (the newest entry, matching or not)."""
    from jobctl.queue.events import MAX_LEN, last_id, recent

    with api.backends.errors():
        conn = api.backends.redis
        position = last_id(conn)
        found: list[JobEvent] = []
        before, scanned = "+", 0
        while len(found) < last and scanned < 2 * MAX_LEN:
            page = recent(conn, PAGE, before=before)
            if not page:
                break
            scanned += len(page)
            found += [e for e in page if flt.matches(e)]
            before = page[-1].stream_id or "-"
        return list(reversed(found[:last])), position


def follow_events(api: JobctlAPI, flt: EventFilter, after: str) -> Iterator[JobEvent]:
    """Every matching event after stream position `after`, as it arrives (never ends)."""
    from jobctl.queue.events import read_after

    while True:
        with api.backends.errors():
            batch = read_after(api.backends.redis, after, block_ms=FOLLOW_BLOCK_MS)
        for e in batch:
            after = e.stream_id or after
            if flt.matches(e):
                yield e
