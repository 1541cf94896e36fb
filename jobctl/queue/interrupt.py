"""Stop a job running in another thread: set its cancel event, and raise into its thread.

Cooperative processors see the event (JobContext.sleep / check_cancelled). For code that does
not look, an asynchronous JobCancelledError is raised in the executing thread — but only while
that thread is inside the processor (an `interruptible` region), never in the runner's or RQ's
own bookkeeping. A pending exception is cleared when the region ends, under the same lock, so
it cannot fire later in the wrong place.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from jobctl.domain.errors import JobCancelledError


def _set_async_exc(thread_id: int, exc: type[BaseException] | None) -> int:
    return int(
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None
        )
    )


class Interruptible:
    """Tracks whether one thread is inside user code, and can interrupt it there."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread_id: int | None = None

    @contextmanager
    def region(self) -> Iterator[None]:
        with self._lock:
            self._thread_id = threading.get_ident()
        try:
            yield
        finally:
            with self._lock:
                tid, self._thread_id = self._thread_id, None
                if tid is not None:
                    _set_async_exc(tid, None)  # drop an interrupt that arrived too late

    def interrupt(self) -> bool:
        """Raise JobCancelledError in the thread if it is inside the region; True if sent."""
        with self._lock:
            if self._thread_id is None:
                return False
            return _set_async_exc(self._thread_id, JobCancelledError) == 1
