"""Cron evaluation (pure, `now` passed in): validation, seconds, DST days in Berlin and New York."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from jobctl.domain.errors import InvalidInputError
from jobctl.scheduler.cron import CronSchedule

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ticks_on(cron: CronSchedule, day: date) -> list[datetime]:
    """Every fire instant whose local date is `day`, as local times."""
    zone = ZoneInfo(cron.timezone)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC) - timedelta(seconds=1)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    out, t = [], start
    while (t := cron.next_after(t)) < end:
        out.append(t.astimezone(zone))
    return out


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "invalid cron expression '61 * * * *'"),
        ("* * *", "use 5 fields"),
        ("* * * * * * *", "use 5 fields"),
        ("H * * * *", "hashed (H) and random (R)"),
        ("R 2 * * *", "hashed (H) and random (R)"),
        ("0 0 30 2 *", "never fires"),
        ("@reboot", "use 5 fields"),
        ("", "use 5 fields"),
        ("*/0 * * * *", "invalid cron expression"),
    ],
)
def test_bad_expressions_are_refused_with_one_line(expression: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        CronSchedule(expression)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_time_zone() -> None:
    with pytest.raises(InvalidInputError, match="unknown time zone 'Mars/Olympus'"):
        CronSchedule("* * * * *", "Mars/Olympus")


def test_utc_basics_aliases_and_seconds_field() -> None:
    assert CronSchedule("*/5 * * * *").next_after(utc(2026, 1, 1, 0, 5)) == utc(
        2026, 1, 1, 0, 10
    )  # strictly after
    assert CronSchedule("@hourly").upcoming(utc(2026, 1, 1, 0, 30), 2) == [
        utc(2026, 1, 1, 1),
        utc(2026, 1, 1, 2),
    ]
    every_10s = CronSchedule("* * * * * */10")  # the sixth field is seconds (croniter's convention)
    assert every_10s.has_seconds
    assert every_10s.upcoming(utc(2026, 1, 1, 0, 0, 1), 2) == [
        utc(2026, 1, 1, 0, 0, 10),
        utc(2026, 1, 1, 0, 0, 20),
    ]
    assert CronSchedule("0 9 * * mon-fri").next_after(utc(2026, 1, 2, 10)) == utc(2026, 1, 5, 9)  # Fri -> Mon


def test_latest_and_count() -> None:
    hourly = CronSchedule("0 * * * *")
    since, now = utc(2026, 1, 1, 10), utc(2026, 1, 1, 12, 30)
    assert hourly.latest_at_or_before(now, since) == utc(2026, 1, 1, 12)
    assert hourly.latest_at_or_before(utc(2026, 1, 1, 10, 59), since) is None
    assert hourly.count_between(since, utc(2026, 1, 1, 12)) == 1
    per_second = CronSchedule("* * * * * *")  # a month of seconds is not walked
    assert per_second.latest_at_or_before(utc(2026, 2, 1, 0, 0, 0), utc(2026, 1, 1)) == utc(2026, 2, 1)
    assert per_second.count_between(utc(2026, 1, 1), utc(2026, 2, 1), cap=50) == 50


# -- DST: each logical run once ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "autumn", "spring"),
    [(BERLIN, date(2026, 10, 25), date(2026, 3, 29)), (NEW_YORK, date(2026, 11, 1), date(2026, 3, 8))],
)
def test_fixed_time_runs_once_on_change_days(zone: str, autumn: date, spring: date) -> None:
    # 02:30 (Berlin) / 01:30 (New York) happens twice on the autumn day: croniter 7 alone fires twice.
    repeated = "30 2 * * *" if zone == BERLIN else "30 1 * * *"
    cron = CronSchedule(repeated, zone)
    fired = ticks_on(cron, autumn)
    assert len(fired) == 1 and fired[0].fold == 0  # the first pass
    for day in (autumn - timedelta(days=1), autumn + timedelta(days=1)):
        assert len(ticks_on(cron, day)) == 1
    # 02:30 does not exist on the spring day: the run fires when clocks jump to 03:00.
    skipped = CronSchedule("30 2 * * *", zone)
    fired = ticks_on(skipped, spring)
    assert [(t.hour, t.minute) for t in fired] == [(3, 0)]
    assert [(t.hour, t.minute) for t in ticks_on(skipped, spring + timedelta(days=1))] == [(2, 30)]


@pytest.mark.parametrize(("zone", "autumn", "spring"), [(BERLIN, date(2026, 10, 25), date(2026, 3, 29))])
def test_wildcard_hours_follow_real_time(zone: str, autumn: date, spring: date) -> None:
    half_hourly = CronSchedule("*/30 * * * *", zone)
    assert len(ticks_on(half_hourly, autumn)) == 50  # a 25-hour day
    assert len(ticks_on(half_hourly, spring)) == 46  # a 23-hour day
    fired = [t.astimezone(UTC) for t in ticks_on(half_hourly, autumn)]  # same-zone subtraction is wall time
    assert {b - a for a, b in itertools.pairwise(fired)} == {timedelta(minutes=30)}


def test_start_inside_the_repeated_hour_does_not_refire() -> None:
    cron = CronSchedule("45 2 * * *", BERLIN)
    first = cron.next_after(utc(2026, 10, 24, 12))
    assert first == utc(2026, 10, 25, 0, 45)  # 02:45 CEST
    # Start from 02:30 CET (the second pass): the repeated 02:45 already fired.
    assert cron.next_after(utc(2026, 10, 25, 1, 30)) == utc(2026, 10, 26, 1, 45)
    assert cron.latest_at_or_before(utc(2026, 10, 25, 1, 50), utc(2026, 10, 25, 0, 50)) is None


def test_new_york_every_hour_through_fall_back() -> None:
    hourly = CronSchedule("0 * * * *", NEW_YORK)
    fired = hourly.upcoming(utc(2026, 11, 1, 4, 30), 3)  # from 00:30 EDT
    assert fired == [
        utc(2026, 11, 1, 5),
        utc(2026, 11, 1, 6),
        utc(2026, 11, 1, 7),
    ]  # 01:00 EDT, 01:00 EST, 02:00
