"""What `jobctl enqueue … --wait` shows on stderr while it waits: the job's reported progress.

On a terminal, a rich progress bar (indeterminate until the job reports a total) with the job's
status and its last progress message. Without one (a pipe, CI, a log file), one plain line each
time the progress changes. Stdout stays the result either way, so scripts can keep parsing it.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from jobctl.domain.errors import JobctlError

if TYPE_CHECKING:
    from jobctl.api.jobs import JobctlAPI
    from jobctl.domain.progress import JobProgress
    from jobctl.domain.records import JobRecord

MIN_READ_S = 0.2  # the worker flushes progress every 0.2 s: reading more often shows nothing new


class WaitProgress:
    """An `on_poll` callback for JobctlAPI.wait_for; a context manager that ends the display."""

    def __init__(self, api: JobctlAPI, job_id: str, *, tty: bool | None = None) -> None:
        self.api = api
        self.job_id = job_id
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._last_read = 0.0
        self._last_line: str | None = None
        self._bar: Any = None  # rich.progress.Progress, built on a terminal only
        self._task: Any = None

    def __enter__(self) -> WaitProgress:
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task(f"{self.job_id[:12]} waiting", total=None)
            self._bar.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, row: JobRecord) -> None:
        now = time.monotonic()
        if now - self._last_read < MIN_READ_S and not row.status.is_final:
            return
        self._last_read = now
        try:
            progress = self.api.job_activity(self.job_id, last=0).progress
        except JobctlError:  # progress is a nicety: the wait itself reports real outages
            progress = None
        if self._bar is not None:
            self._draw(row, progress)
        elif progress is not None:
            line = f"{self.job_id}: {progress.describe()}"
            if line != self._last_line:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
                self._last_line = line

    def _draw(self, row: JobRecord, progress: JobProgress | None) -> None:
        label = f"{self.job_id[:12]} {row.status.value.lower()}"
        if progress is None:
            self._bar.update(self._task, description=label)
            return
        message = f" {progress.message}" if progress.message else ""
        self._bar.update(
            self._task, description=f"{label}{message}", completed=progress.done, total=progress.total
        )
