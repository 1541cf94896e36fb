"""Cron evaluation: the instants a schedule fires at, in its time zone, with DST handled.

Pure: every method takes the times it works from; nothing here reads the clock.

Expressions have 5 fields (minute hour day-of-month month day-of-week) or 6, where the sixth
is **seconds** (croniter's convention: `* * * * * */10` is every 10 seconds; Quartz and
cron-parser put seconds first instead). `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`
are accepted. croniter's hashed (`H`) and random (`R`) fields are refused: two scheduler
processes must compute the same ticks.

Time zones (the cron runs on the zone's wall clock) follow Vixie cron's rules, which make
each logical run fire once on DST change days:

- A schedule with fixed hours (its hour field does not start with `*`, e.g. `30 2 * * *`)
  fires once per wall-clock time: when clocks go back, a repeated 02:30 fires only the first
  time (croniter 7 alone returns it twice); when clocks jump forward over 02:30, the run
  fires at the moment of the jump.
- A schedule with wildcard hours (`*/15 * * * *`, `0 * * * *`) follows real time: it fires
  in both passes of a repeated hour, and its ticks inside a skipped hour do not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from jobctl.domain.errors import InvalidInputError

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EPSILON = timedelta(microseconds=1)
_PROBE_STEP = timedelta(days=1)  # tz offsets never change twice within a day
_MAX_SEGMENTS = 16  # offset changes crossed while looking for one tick (yearly: ~2)


def _naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None)


def _check_fields(expression: str, fields: list[str]) -> None:
    if len(fields) not in (5, 6):
        raise InvalidInputError(
            f"invalid cron expression {expression!r}: use 5 fields (minute hour day month weekday), "
            "6 with seconds last, or @hourly/@daily/@weekly/@monthly/@yearly"
        )
    for field in fields:
        for item in field.split(","):
            if item[:1].upper() in ("H", "R") and (len(item) == 1 or item[1] in "(/"):
                raise InvalidInputError(
                    f"invalid cron expression {expression!r}: hashed (H) and random (R) fields are not "
                    "supported (every scheduler process must compute the same times)"
                )


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)"
        ) from None


class CronSchedule:
    """A validated cron expression in a time zone. Not thread-safe (it reuses one iterator)."""

    def __init__(self, expression: str, timezone: str = "UTC") -> None:
        self.expression = expression.strip()
        text = " ".join(self.expression.split())
        text = ALIASES.get(text.lower(), text)
        self.fields = text.split(" ")
        _check_fields(self.expression, self.fields)
        self.normalised = text
        self.has_seconds = len(self.fields) == 6
        # Vixie cron's rule: fixed hours follow the wall clock, wildcard hours follow real time.
        self.wall_clock_hours = not self.fields[1].startswith("*")
        self.timezone = timezone
        self.zone = load_zone(timezone)
        self._utc = timezone.upper() in ("UTC", "ETC/UTC", "Z")
        try:
            self._iter = croniter(text, datetime(2000, 1, 1))
        except (CroniterError, ValueError) as exc:
            raise InvalidInputError(f"invalid cron expression {self.expression!r}: {exc}") from None
        self.next_after(datetime(2000, 1, 1, tzinfo=UTC))  # refuse expressions that never fire

    def __repr__(self) -> str:
        return f"CronSchedule({self.expression!r}, {self.timezone!r})"

    # -- the wall clock ------------------------------------------------------------------------

    def _next_wall(self, after: datetime) -> datetime:
        """The first wall-clock tick strictly after the naive wall time `after`."""
        self._iter.set_current(after, force=True)
        try:
            value: datetime = self._iter.get_next(datetime)
        except CroniterBadDateError:
            raise InvalidInputError(f"cron expression {self.expression!r} never fires") from None
        return value

    def _offset(self, instant: datetime) -> timedelta:
        offset = instant.astimezone(self.zone).utcoffset()
        return offset if offset is not None else timedelta(0)

    def _transition(self, lo: datetime, hi: datetime) -> datetime | None:
        """The first instant in (lo, hi] whose UTC offset differs from lo's, if any."""
        base = self._offset(lo)
        probe = lo
        while probe < hi:
            step_end = min(probe + _PROBE_STEP, hi)
            if self._offset(step_end) != base:
                good, bad = probe, step_end
                while bad - good > timedelta(seconds=1):
                    mid = good + (bad - good) / 2
                    if self._offset(mid) == base:
                        good = mid
                    else:
                        bad = mid
                # Offsets change on whole seconds: the one whole second in (good, bad].
                whole = bad.replace(microsecond=0)
                return whole if whole > good else bad
            probe = step_end
        return None

    def _repeated_until(self, t: datetime) -> datetime | None:
        """If `t` lies in the second pass of a repeated hour, the wall time that pass ends at."""
        local = t.astimezone(self.zone)
        if not local.fold:
            return None
        now_off, before_off = local.utcoffset(), local.replace(fold=0).utcoffset()
        if now_off is None or before_off is None or before_off <= now_off:
            return None
        change = self._transition(t - (before_off - now_off) - timedelta(seconds=1), t)
        return _naive(change + before_off) if change is not None else None

    # -- ticks -----------------------------------------------------------------------------------

    def next_after(self, t: datetime) -> datetime:
        """The first fire instant strictly after `t` (aware), as an aware UTC datetime."""
        t = t.astimezone(UTC)
        if self._utc:
            return self._next_wall(_naive(t)).replace(tzinfo=UTC)
        seen_until = self._repeated_until(t) if self.wall_clock_hours else None
        cur, inclusive = t, False
        for _ in range(_MAX_SEGMENTS):
            off = self._offset(cur)
            start = _naive(cur + off)
            wall = self._next_wall(start - _EPSILON if inclusive else start)
            if seen_until is not None and wall < seen_until:
                wall = self._next_wall(seen_until - _EPSILON)  # that wall time already fired
            instant = (wall - off).replace(tzinfo=UTC)
            change = self._transition(cur, instant)
            if change is None:
                return instant
            new_off = self._offset(change)
            if new_off > off:
                # Clocks jump forward: wall times in [change+off, change+new_off) never happen.
                if self.wall_clock_hours and wall < _naive(change + new_off):
                    return change
            elif self.wall_clock_hours:
                # Clocks go back: wall times before change+off happen a second time.
                seen_until = _naive(change + off)
            cur, inclusive = change, True
        raise InvalidInputError(f"cron expression {self.expression!r} never fires")  # pragma: no cover

    def upcoming(self, after: datetime, count: int) -> list[datetime]:
        out: list[datetime] = []
        t = after
        for _ in range(count):
            t = self.next_after(t)
            out.append(t)
        return out

    def latest_at_or_before(self, now: datetime, after: datetime) -> datetime | None:
        """The last fire instant in (after, now], or None if there is none.

        Searches backwards from `now` with doubling steps, then walks forward: the cost depends
        on the ticks near `now`, not on how long ago `after` is (a month of a per-second
        schedule is not walked).
        """
        if self.next_after(after) > now:
            return None
        start, span = after, timedelta(seconds=1)
        while now - span > after:
            if self.next_after(now - span) <= now:
                start = now - span
                break
            span *= 2
        tick = self.next_after(start)
        while True:
            following = self.next_after(tick)
            if following > now:
                return tick
            tick = following

    def count_between(self, after: datetime, before: datetime, cap: int = 1000) -> int:
        """Ticks strictly between `after` and `before`, counted up to `cap`."""
        count, t = 0, after
        while count < cap:
            t = self.next_after(t)
            if t >= before:
                break
            count += 1
        return count
