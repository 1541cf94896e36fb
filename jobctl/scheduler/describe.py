"""Cron expressions in plain English, for `jobctl schedules list` and the dashboard.

Covers the common forms (every N seconds/minutes/hours, daily at times, weekdays, days of
the month, yearly dates, hour windows). Anything else returns None and callers show the raw
expression: a wrong description is worse than none.
"""

from __future__ import annotations

import re

from jobctl.scheduler.cron import ALIASES

_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DAY_ABBR = {d[:3].lower(): i for i, d in enumerate(_DAYS)}
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_MONTH_ABBR = {m[:3].lower(): i + 1 for i, m in enumerate(_MONTHS)}
_STEP = re.compile(r"^\*/(\d+)$")
_NUM = re.compile(r"^\d+$")


def _step(field: str, cycle: int = 60) -> int | None:
    """N of '*/N', only when N divides the cycle: '*/7' minutes is not "every 7 minutes"
    (it also fires at :56 and then :00)."""
    m = _STEP.fullmatch(field)
    return int(m.group(1)) if m and cycle % int(m.group(1)) == 0 else None


def _nums(field: str) -> list[int] | None:
    """'5' or '0,30' -> [5] / [0, 30]; None for anything else."""
    parts = field.split(",")
    if not all(_NUM.fullmatch(p) for p in parts):
        return None
    return [int(p) for p in parts]


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _named(field: str, names: dict[str, int], lowest: int, highest: int) -> list[tuple[int, int]] | None:
    """'1-5,sat' -> [(1, 5), (6, 6)] (names or numbers; no steps); None if not that simple."""
    out: list[tuple[int, int]] = []
    for item in field.lower().split(","):
        ends = item.split("-")
        if len(ends) > 2:
            return None
        values = [int(e) if _NUM.fullmatch(e) else names.get(e, -1) for e in ends]
        if any(v < lowest or v > highest for v in values):
            return None
        out.append((values[0], values[-1]))
    return out


def _weekdays(field: str) -> str | None:
    spans = _named(field, _DAY_ABBR, 0, 7)
    if spans is None:
        return None
    words = [_DAYS[a % 7] if a == b else f"{_DAYS[a % 7]} to {_DAYS[b % 7]}" for a, b in spans]
    return _join(words)


def _months(field: str) -> str | None:
    spans = _named(field, _MONTH_ABBR, 1, 12)
    if spans is None:
        return None
    return _join([_MONTHS[a - 1] if a == b else f"{_MONTHS[a - 1]} to {_MONTHS[b - 1]}" for a, b in spans])


def _clock(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _time_phrase(minute: str, hour: str) -> tuple[str, str] | None:
    """(phrase, kind) for the minute and hour fields; kind is 'every' (a frequency), 'at'
    (clock times) or 'window' (a frequency within hours)."""
    m_step, h_step = _step(minute), _step(hour, 24)
    minutes, hours = _nums(minute), _nums(hour)
    if hour == "*":
        if minute == "*" or m_step == 1:
            return "every minute", "every"
        if m_step:
            return f"every {m_step} minutes", "every"
        if minutes and len(minutes) == 1:
            return ("every hour" if minutes[0] == 0 else f"every hour at :{minutes[0]:02d}"), "every"
        return None
    if h_step and minutes and len(minutes) == 1:
        at = "" if minutes[0] == 0 else f" at :{minutes[0]:02d}"
        return (f"every {h_step} hours{at}" if h_step > 1 else f"every hour{at}"), "every"
    if hours and minutes and (len(hours) == 1 or len(minutes) == 1):
        return "at " + _join([_clock(h, m) for h in hours for m in minutes]), "at"
    window = re.fullmatch(r"(\d+)-(\d+)", hour) or (re.fullmatch(r"(\d+)", hour) if hours else None)
    if window and (minute == "*" or m_step):
        first, last = int(window.group(1)), int(window.group(window.lastindex or 1))
        step = m_step or 1
        every = "every minute" if step == 1 else f"every {step} minutes"
        return f"{every} from {_clock(first, 0)} to {_clock(last, (59 // step) * step)}", "window"
    return None


def _day_phrase(dom: str, month: str, dow: str) -> tuple[str | None, str] | None:
    """(lead, on): 'every Monday' + time, or time + 'on Monday'; lead None if only 'on' reads well."""
    dom, dow = dom.replace("?", "*"), dow.replace("?", "*")
    if dom == "*" and month == "*" and dow == "*":
        return "every day", ""
    if dom != "*" and dow != "*":
        return None  # cron fires when EITHER matches: too easy to misread in prose
    if dow != "*":
        days = _weekdays(dow)
        if days is None or month != "*":
            return None
        return f"every {days}", f"on {days}"
    day_nums = _nums(dom)
    day = (
        "the last day"
        if dom.upper() == "L"
        else (f"day {_join([str(d) for d in day_nums])}" if day_nums else None)
    )
    if day is None:
        return None
    if month == "*":
        return f"every month on {day}", f"on {day} of every month"
    months, single = _months(month), _nums(month)
    if months is None:
        return None
    if single and len(single) == 1 and day_nums and len(day_nums) == 1:
        date = f"{_MONTHS[single[0] - 1]} {day_nums[0]}"
        return f"every year on {date}", f"on {date} every year"
    return None, f"on {day} of {months}"


def describe(expression: str, timezone: str = "UTC") -> str | None:
    """'*/5 * * * *' -> 'every 5 minutes'; '0 9 * * 1-5' -> 'every Monday to Friday at 09:00 UTC'.

    None when the expression is not one of the forms described here.
    """
    text = " ".join(expression.split())
    fields = ALIASES.get(text.lower(), text).split(" ")
    if len(fields) == 6:
        seconds, fields = fields[5], fields[:5]
        if seconds != "0":
            return _seconds_phrase(seconds) if fields == ["*"] * 5 else None
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    timed, days = _time_phrase(minute, hour), _day_phrase(dom, month, dow)
    if timed is None or days is None:
        return None
    (when, kind), (lead, on) = timed, days
    if kind == "at":
        phrase = f"{lead} {when}" if lead else f"{when} {on}"
    else:
        phrase = f"{when} {on}" if on else when
    if kind == "every" and not on:
        return phrase  # a pure frequency does not depend on the time zone
    return f"{phrase} {timezone}" if timezone.upper() == "UTC" else f"{phrase} ({timezone})"


def _seconds_phrase(seconds: str) -> str | None:
    step, nums = _step(seconds), _nums(seconds)
    if seconds == "*" or step == 1:
        return "every second"
    if step:
        return f"every {step} seconds"
    return f"every minute at second {nums[0]}" if nums and len(nums) == 1 else None
