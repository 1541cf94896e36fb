"""Retry policy: the first run plus up to 3 retries, waiting 60 s, 300 s and 900 s.

A lost execution (its worker died, was cut off or restarted, or the job hung past its lock)
is not the job's failure: the first loss of a job is re-run at once. Further losses of the same
job wait like failures, so a job that kills its worker every time cannot crash workers in a
tight loop (BullMQ's maxStalledCount, with one free re-run). Every loss still costs an attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_RETRY_INTERVALS: tuple[int, ...] = (60, 300, 900)


@dataclass(frozen=True)
class RetryPolicy:
    """`intervals[i]` is the wait before retry i+1; its length is the number of retries."""

    intervals: tuple[int, ...] = DEFAULT_RETRY_INTERVALS

    @property
    def max_retries(self) -> int:
        return len(self.intervals)

    @property
    def max_attempts(self) -> int:
        return 1 + self.max_retries

    def delay_after(self, attempt: int) -> int | None:
        """Seconds to wait after failed attempt number `attempt` (1-based); None when spent."""
        if attempt < 1 or attempt > self.max_retries:
            return None
        return self.intervals[attempt - 1]

    def delay_for(self, attempt: int, max_attempts: int) -> int | None:
        """Seconds to wait after failed attempt `attempt` of a job allowed `max_attempts`, or
        None when its budget is spent. An operator's retry (or a hand-back) grows max_attempts;
        the retry number within the current budget picks the interval."""
        if attempt >= max_attempts:
            return None
        if not self.intervals:
            return 0
        within_budget = attempt - max(0, max_attempts - self.max_attempts)
        return self.intervals[min(max(within_budget, 1), len(self.intervals)) - 1]

    def delay_after_loss(self, attempt: int, max_attempts: int, earlier_losses: int) -> int | None:
        """Seconds to wait after lost attempt `attempt`, given how many earlier executions of
        the same job were lost: 0 for the first loss, the retry waits after that; None when the
        budget is spent (the loss still cost its attempt)."""
        delay = self.delay_for(attempt, max_attempts)
        if delay is None:
            return None
        return 0 if earlier_losses <= 0 else delay


def parse_intervals(text: str) -> tuple[int, ...]:
    """Parse '60,300,900' (config/env form). Raise ValueError on anything else."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    values: list[int] = []
    for part in parts:
        if not part.isdigit():
            raise ValueError(f"retry interval {part!r} is not a whole number of seconds")
        values.append(int(part))
    return tuple(values)
