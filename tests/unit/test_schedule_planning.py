"""Planning (pure, `now` passed in): on-time ticks, catch-up `latest`/`none`, no burst, no refire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobctl.domain.schedules import CatchUp, FiringOutcome, firing_job_id
from jobctl.scheduler.cron import CronSchedule
from jobctl.scheduler.defaults import interval_cron
from jobctl.scheduler.planning import plan

HOURLY = CronSchedule("0 * * * *")


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 5, 4, hour, minute, second, tzinfo=UTC)


def test_nothing_due_until_the_next_tick() -> None:
    p = plan(HOURLY, at(10), at(10, 59, 59), CatchUp.LATEST)
    assert p.due is None and p.next_at == at(11)


def test_on_time_tick_fires() -> None:
    p = plan(HOURLY, at(10), at(11, 0, 0), CatchUp.NONE)
    assert p.due is not None and p.due.fire_time == at(11) and p.due.outcome == FiringOutcome.ENQUEUED
    assert p.due.passed_over == 0 and p.due.reason is None and p.next_at == at(12)


def test_two_hours_down_fires_one_catch_up() -> None:
    # last handled 10:00; down until 12:30: 11:00 and 12:00 were missed, only 12:00 fires.
    p = plan(HOURLY, at(10), at(12, 30), CatchUp.LATEST)
    assert p.due is not None and p.due.fire_time == at(12) and p.due.outcome == FiringOutcome.ENQUEUED
    assert p.due.passed_over == 1 and "1 earlier tick(s) not fired" in (p.due.reason or "")
    assert p.next_at == at(13)


def test_catch_up_none_records_a_late_tick_as_missed() -> None:
    p = plan(HOURLY, at(10), at(12, 30), CatchUp.NONE)
    assert p.due is not None and p.due.outcome == FiringOutcome.MISSED and p.due.fire_time == at(12)
    assert "catch-up policy none" in (p.due.reason or "")
    # ... but a tick within the grace period is on time, whatever happened before it
    p = plan(HOURLY, at(10), at(12, 0, 20), CatchUp.NONE)
    assert p.due is not None and p.due.outcome == FiringOutcome.ENQUEUED


def test_a_clock_running_backwards_fires_nothing_again() -> None:
    p = plan(HOURLY, at(12), at(11, 30), CatchUp.LATEST)  # the wall clock jumped back
    assert p.due is None and p.next_at == at(13)


def test_month_down_on_a_per_second_schedule_is_one_firing() -> None:
    cron = CronSchedule("* * * * * *")
    since = datetime(2026, 4, 1, tzinfo=UTC)
    p = plan(cron, since, at(12, 0, 0), CatchUp.LATEST)
    assert p.due is not None and p.due.fire_time == at(12) and p.due.passed_over == 1000  # capped count
    assert "1000+ earlier" in (p.due.reason or "")


def test_firing_ids_and_interval_crons() -> None:
    assert firing_job_id("ping", "abc123", at(12)) == f"ping-abc123-{int(at(12).timestamp())}"
    assert [interval_cron(timedelta(seconds=s)) for s in (1, 15, 60, 300, 3600, 6 * 3600, 86400)] == [
        "* * * * * *", "* * * * * */15", "* * * * *", "*/5 * * * *", "0 * * * *", "0 */6 * * *", "0 0 * * *",
    ]  # fmt: skip
