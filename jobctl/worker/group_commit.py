"""Group commit for a worker's slots: requests made while a batch is in flight go together in
the next one, run by the first of their threads (no thread of its own, no added wait when the
worker is quiet). The claimer (one claim statement) and the popper (one Redis pipeline of pop
scripts) are built on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Request(Generic[T, R]):
    __slots__ = ("answer", "error", "item", "lead", "wake")

    def __init__(self, item: T) -> None:
        self.item = item
        self.answer: R | None = None
        self.error: BaseException | None = None
        self.lead = False  # woken to run the next batch, not with its answer
        self.wake = threading.Lock()
        self.wake.acquire()

    def result(self) -> R:
        if self.error is not None:
            raise self.error
        return self.answer  # type: ignore[return-value]  # set by the batch that ran it


class GroupCommit(Generic[T, R]):
    """`submit(item)` blocks until a call of `run(items)` that included it answered it.

    `run` answers each item, in order; an answer that is an exception is raised to that item's
    caller alone, and an exception `run` raises is raised to every caller of its batch."""

    def __init__(self, run: Callable[[list[T]], Sequence[R | BaseException]]) -> None:
        self._run = run
        self._mutex = threading.Lock()
        self._pending: list[_Request[T, R]] = []
        self._busy = False  # a batch is in flight
        self.batches = 0  # batches run (tests and measurements)

    def submit(self, item: T) -> R:
        request: _Request[T, R] = _Request(item)
        with self._mutex:
            self._pending.append(request)
            lead = not self._busy
            self._busy = True
        if not lead:
            request.wake.acquire()  # released with the answer, or to lead the next batch
            if not request.lead:
                return request.result()
        self._run_batch()
        return request.result()

    def _run_batch(self) -> None:
        with self._mutex:
            batch, self._pending = self._pending, []
        try:
            answers = self._run([r.item for r in batch])
            for r, answer in zip(batch, answers, strict=True):
                if isinstance(answer, BaseException):
                    r.error = answer
                else:
                    r.answer = answer
        except BaseException as exc:
            for r in batch:
                r.error = exc
        self.batches += 1
        with self._mutex:
            following = self._pending[0] if self._pending else None
            if following is None:
                self._busy = False
            else:
                following.lead = True
        for r in batch:
            if not r.lead:
                r.wake.release()
        if following is not None:
            following.wake.release()
