"""Stop a job running in another thread: raise into its thread, only inside the processor.

Cooperative processors see the cancel event (JobContext.sleep / check_cancelled). For code that
does not look, an exception is raised asynchronously in the executing thread — but only while
that thread is inside the processor (an `interruptible` region), never in the runner's or RQ's
own bookkeeping. A pending exception is cleared when the region ends, under the same lock, so
it cannot fire later in the wrong place. A thread blocked inside a C call (a long time.sleep, a
socket read without timeout) receives it only when that call returns.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager


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
        self.reason: type[BaseException] | None = None  # the first interrupt sent wins

    @property
    def thread_id(self) -> int | None:
        return self._thread_id

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

    def interrupt(self, exc: type[BaseException]) -> bool:
        """Raise `exc` in the thread if it is inside the region; True if sent."""
        with self._lock:
            if self._thread_id is None:
                return False
            if self.reason is None:
                self.reason = exc
            return _set_async_exc(self._thread_id, exc) == 1
