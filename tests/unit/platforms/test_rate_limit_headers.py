"""Reading the platforms' rate-limit headers (X's remaining/reset windows, Meta's usage JSON,
Retry-After) and the in-process gate: a close never shortens a closure."""

from __future__ import annotations

import json

from jobctl.services.platforms.base import retry_after_s
from jobctl.services.platforms.ratelimit import MemoryRateGate, exhausted_for_s, meta_regain_s

NOW = 1_800_000_000.0


def test_x_remaining_zero_waits_until_its_reset() -> None:
    reset = str(int(NOW) + 300)
    headers = {"x-rate-limit-limit": "900", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
    assert exhausted_for_s(headers, 60, now=NOW) == 300
    assert exhausted_for_s({**headers, "x-rate-limit-remaining": "3"}, 60, now=NOW) is None  # budget left
    assert exhausted_for_s({"x-rate-limit-remaining": "0"}, 60, now=NOW) is None  # no reset: nothing to go on
    past = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(int(NOW) - 5)}
    assert exhausted_for_s(past, 60, now=NOW) == 0  # the window already turned


def test_x_posting_caps_over_24_hours() -> None:
    headers = {
        "x-rate-limit-remaining": "40", "x-rate-limit-reset": str(int(NOW) + 60),
        "x-user-limit-24hour-remaining": "0", "x-user-limit-24hour-reset": str(int(NOW) + 7200),
    }  # fmt: skip
    assert exhausted_for_s(headers, 60, now=NOW) == 7200
    app = {"x-app-limit-24hour-remaining": "0", "x-app-limit-24hour-reset": str(int(NOW) + 50)}
    assert exhausted_for_s(app, 60, now=NOW) == 50


def test_meta_app_usage_at_100_percent_waits_the_default() -> None:
    full = {"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 12, "total_time": 30})}
    assert exhausted_for_s(full, 60, now=NOW) == 60
    cpu = {"x-app-usage": json.dumps({"call_count": 5, "total_cputime": 101, "total_time": 30})}
    assert exhausted_for_s(cpu, 45, now=NOW) == 45
    fine = {"x-app-usage": json.dumps({"call_count": 99, "total_cputime": 12, "total_time": 30})}
    assert exhausted_for_s(fine, 60, now=NOW) is None


def test_meta_business_use_case_usage_gives_the_time_to_regain_access() -> None:
    buc = {
        "x-business-use-case-usage": json.dumps({
            "1234567890": [
                {"type": "pages", "call_count": 100, "total_cputime": 20, "total_time": 40,
                 "estimated_time_to_regain_access": 19},
                {"type": "instagram", "call_count": 10, "total_cputime": 1, "total_time": 1,
                 "estimated_time_to_regain_access": 0},
            ]
        })
    }  # fmt: skip
    assert meta_regain_s(buc) == 19 * 60
    assert exhausted_for_s(buc, 60, now=NOW) == 19 * 60
    assert retry_after_s(buc, now=NOW) == 19 * 60  # a 429 / code 4 answer waits that long too
    low = {"x-business-use-case-usage": json.dumps({"1": [{"type": "pages", "call_count": 40}]})}
    assert exhausted_for_s(low, 60, now=NOW) is None and meta_regain_s(low) is None


def test_malformed_usage_headers_are_ignored() -> None:
    for value in ("not json", "[1, 2]", json.dumps({"1": "x"}), json.dumps({"1": [None, 3]}), ""):
        headers = {"x-app-usage": value, "x-business-use-case-usage": value}
        assert exhausted_for_s(headers, 60, now=NOW) is None
    assert exhausted_for_s({"x-rate-limit-remaining": "nan", "x-rate-limit-reset": "zz"}, 60, now=NOW) is None


def test_retry_after_comes_first() -> None:
    headers = {"retry-after": "120", "x-rate-limit-reset": str(int(NOW) + 900)}
    assert retry_after_s(headers, now=NOW) == 120
    assert retry_after_s({"x-rate-limit-reset": str(int(NOW) + 900)}, now=NOW) == 900
    assert retry_after_s({}, now=NOW) is None


def test_memory_gate_closes_per_account_and_never_shortens() -> None:
    clock = [100.0]
    gate = MemoryRateGate(clock=lambda: clock[0])
    assert gate.wait_s("twitter", "42") is None
    gate.close("twitter", "42", 120, "429")
    gate.close("twitter", "42", 10, "a shorter wait")  # does not reopen it sooner
    assert gate.wait_s("twitter", "42") == 120
    assert gate.wait_s("twitter", "43") is None and gate.wait_s("linkedin", "42") is None
    clock[0] += 119.5
    assert gate.wait_s("twitter", "42") == 0.5
    clock[0] += 1
    assert gate.wait_s("twitter", "42") is None
    gate.close("twitter", "42", 0, "nothing")
    assert gate.wait_s("twitter", "42") is None
