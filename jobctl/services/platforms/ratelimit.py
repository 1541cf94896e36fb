"""Rate limits shared by every client of one account: the gate, and the headers that close it.

A platform's rate limit belongs to the account (and app), not to the job that hit it: once one
job is told "429, come back in 120 s", no other job or worker may send a request for that
account before then — each would only be refused again, and Meta counts refused calls against
the window and can extend the block. So the clients of one (platform, account external id)
share a `RateGate`:

- before a request, `wait_s()` says how long the gate is still closed; a closed gate makes the
  client raise RateLimited(retry_after_s = that) without sending anything;
- an answer that says the budget is spent closes it: a 429 (or a platform's rate-limit error
  code) for its Retry-After / reset time, and any answer, a 2xx too, whose headers say
  nothing is left (`exhausted_for_s`), until the reset they give.

The gate is injected (`ClientSettings.rate_gate`): the worker's is kept in Redis
(jobctl.queue.rate_gate), shared by every process; `MemoryRateGate` is one process's (tests, a
single script); None: no gate, every request is sent (each 429 is still mapped to RateLimited).

The headers read (each platform's documented names; they do not collide):
- X: `x-rate-limit-remaining` 0 with `x-rate-limit-reset` (Unix seconds) for the endpoint's
  15-minute window, and the posting caps `x-user-limit-24hour-remaining` /
  `x-app-limit-24hour-remaining` with their `-reset`.
  https://docs.x.com/x-api/fundamentals/rate-limits
- Meta (Facebook, Instagram, Threads): `X-App-Usage` `{"call_count", "total_cputime",
  "total_time"}` and `X-Business-Use-Case-Usage` `{"<id>": [{"type", "call_count",
  "total_cputime", "total_time", "estimated_time_to_regain_access"}]}`, percentages of the
  budget (100 = spent) and the wait in minutes.
  https://developers.facebook.com/docs/graph-api/overview/rate-limiting
- LinkedIn: a 429, with Retry-After when it sends one (its daily limits reset at midnight
  UTC, but a 429 may also be short-lived infrastructure protection, so without a Retry-After
  the client's default wait applies); no usage headers.
  https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

USAGE_FULL = 100  # Meta's usage headers are percentages: 100 means the budget is spent
_META_USAGE = ("call_count", "total_cputime", "total_time")
_X_WINDOWS = (
    ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
    ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
)


class RateGate(Protocol):
    """Whether requests for one account may be sent now; shared by all its clients.

    `account` is the account's external id on `platform` (X user id, LinkedIn URN, page id...).
    Implementations must be thread-safe and must never raise: a gate that cannot be read is
    open (the platform itself still refuses what is over its limit)."""

    def wait_s(self, platform: str, account: str) -> float | None:
        """Seconds until the account's gate opens; None when it is open."""
        ...

    def close(self, platform: str, account: str, wait_s: float, reason: str) -> None:
        """No request for the account for `wait_s` seconds from now. A gate already closed for
        longer stays so (a close never shortens); `reason` (no secrets) is kept for operators."""
        ...


class MemoryRateGate:
    """A RateGate inside one process (monotonic clock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def wait_s(self, platform: str, account: str) -> float | None:
        with self._lock:
            until, _ = self._until.get((platform, account), (0.0, ""))
        left = until - self._clock()
        return left if left > 0 else None

    def close(self, platform: str, account: str, wait_s: float, reason: str) -> None:
        if wait_s <= 0:
            return
        until = self._clock() + wait_s
        with self._lock:
            if until > self._until.get((platform, account), (0.0, ""))[0]:
                self._until[(platform, account)] = (until, reason)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _x_exhausted(headers: Mapping[str, str], now: float) -> float | None:
    waits = []
    for remaining, reset in _X_WINDOWS:
        left, at = _number(headers.get(remaining)), _number(headers.get(reset))
        if left is not None and left <= 0 and at is not None:
            waits.append(max(0.0, at - now))
    return max(waits) if waits else None


def _usage_entries(headers: Mapping[str, str]) -> list[dict[str, Any]]:
    """The usage objects of Meta's X-App-Usage and X-Business-Use-Case-Usage headers."""
    entries: list[dict[str, Any]] = []
    for name in ("x-app-usage", "x-business-use-case-usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(value, dict):
            continue
        if name == "x-app-usage":
            entries.append(value)
            continue
        for per_object in value.values():  # {"<business object id>": [ {...}, ... ]}
            if isinstance(per_object, list):
                entries.extend(e for e in per_object if isinstance(e, dict))
    return entries


def meta_regain_s(headers: Mapping[str, str]) -> float | None:
    """The longest `estimated_time_to_regain_access` (minutes) in Meta's usage headers, in
    seconds; None when none says a positive time."""
    minutes = [_number(e.get("estimated_time_to_regain_access")) for e in _usage_entries(headers)]
    positive = [m for m in minutes if m is not None and m > 0]
    return max(positive) * 60 if positive else None


def _meta_exhausted(headers: Mapping[str, str], default_s: float) -> float | None:
    entries = _usage_entries(headers)
    spent = any((_number(e.get(k)) or 0) >= USAGE_FULL for e in entries for k in _META_USAGE)
    regain = meta_regain_s(headers)
    if regain is not None:
        return regain  # Meta says the account is blocked for this long, whatever the counts
    return default_s if spent else None


def exhausted_for_s(headers: Mapping[str, str], default_s: float, now: float | None = None) -> float | None:
    """Seconds the account must wait by an answer's rate-limit headers (any status, a 2xx too),
    when they say its budget is spent; None when they do not. `default_s` when a platform says
    "spent" without a time (Meta's X-App-Usage at 100 %)."""
    now = time.time() if now is None else now
    waits = [w for w in (_x_exhausted(headers, now), _meta_exhausted(headers, default_s)) if w is not None]
    return max(waits) if waits else None
