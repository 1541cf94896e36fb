"""Cron in plain English: the common forms, and None (show the raw expression) for the rest."""

from __future__ import annotations

import pytest

from jobctl.scheduler.describe import describe


@pytest.mark.parametrize(
    ("expression", "english"),
    [
        ("* * * * *", "every minute"),
        ("*/5 * * * *", "every 5 minutes"),
        ("5 * * * *", "every hour at :05"),
        ("@hourly", "every hour"),
        ("0 */6 * * *", "every 6 hours"),
        ("15 */2 * * *", "every 2 hours at :15"),
        ("0 9 * * *", "every day at 09:00 UTC"),
        ("@daily", "every day at 00:00 UTC"),
        ("30 9,17 * * *", "every day at 09:30 and 17:30 UTC"),
        ("0 9 * * 1-5", "every Monday to Friday at 09:00 UTC"),
        ("0 9 * * mon-fri", "every Monday to Friday at 09:00 UTC"),
        ("0 10 * * sat,sun", "every Saturday and Sunday at 10:00 UTC"),
        ("@weekly", "every Sunday at 00:00 UTC"),
        ("*/15 9-17 * * 1-5", "every 15 minutes from 09:00 to 17:45 on Monday to Friday UTC"),
        ("* 9 * * *", "every minute from 09:00 to 09:59 UTC"),
        ("0 0 1 * *", "every month on day 1 at 00:00 UTC"),
        ("0 0 L * *", "every month on the last day at 00:00 UTC"),
        ("0 6 1,15 * *", "every month on day 1 and 15 at 06:00 UTC"),
        ("@yearly", "every year on January 1 at 00:00 UTC"),
        ("0 0 1 1,7 *", "at 00:00 on day 1 of January and July UTC"),
        ("* * * * * *", "every second"),
        ("* * * * * */10", "every 10 seconds"),
        ("* * * * * 30", "every minute at second 30"),
        ("0 * * * * 0", "every hour"),
    ],
)
def test_common_forms(expression: str, english: str) -> None:
    assert describe(expression) == english


def test_time_zone_is_named_when_times_of_day_matter() -> None:
    assert describe("0 9 * * *", "Europe/Berlin") == "every day at 09:00 (Europe/Berlin)"
    assert describe("*/5 * * * *", "Europe/Berlin") == "every 5 minutes"


@pytest.mark.parametrize(
    "expression",
    [
        "*/7 * * * *",  # also fires at :56 then :00: not "every 7 minutes"
        "*/90 * * * *",
        "0 */5 * * *",
        "0 0 1 * 1",  # day-of-month OR weekday: easy to misread
        "0 0 * * 5#3",
        "1-10 * * * *",
        "0 9 * * * *",  # a seconds field with other restrictions
        "0 0 * 6 *",
        "*/7 */3 * * *",
    ],
)
def test_other_forms_are_not_guessed(expression: str) -> None:
    assert describe(expression) is None
