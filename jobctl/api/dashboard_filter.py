"""The dashboard's filter language: `status:failed type:sync-rss org:acme id:3f2a error:timeout`.

Terms are AND-ed; a comma inside one term ORs values (`status:failed,cancelled`); `!` negates
a term (`!status:completed`, `!timeout`); words without a key are free text matched in the
id, type, queue, organisation, error and worker; "double quotes" keep spaces and colons in
one value (`error:"connection refused"`). `since:1h` (or an ISO time) bounds created_at.
Matching: status/type/queue/org/class exactly, id by prefix, error/worker/text as
case-insensitive substrings.
"""

from __future__ import annotations

import shlex
from datetime import datetime

from jobctl.domain.errors import InvalidInputError
from jobctl.domain.job_types import normalise_type_name
from jobctl.domain.status import parse_status
from jobctl.domain.timeparse import parse_duration, parse_when
from jobctl.store.dashboard_queries import JobSearch, Term

KEYS = ("status", "type", "queue", "org", "id", "error", "class", "worker", "schedule", "since")
_ALIASES = {"organization": "org", "organisation": "org", "state": "status", "err": "error"}
HELP = (
    "status:failed  type:sync-rss  queue:Q  org:acme  id:PREFIX  error:TEXT  class:ErrorType  "
    'worker:TEXT  schedule:ID  since:1h  free text  !negate  a,b = either  "quoted text"'
)


def parse_filter(text: str, now: datetime) -> JobSearch:
    """Parse the filter line into a JobSearch; InvalidInputError names what is wrong."""
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError:
        raise InvalidInputError('unclosed quote in the filter (use "…" around text with spaces)') from None
    terms: list[Term] = []
    since: datetime | None = None
    for token in tokens:
        negated = token.startswith("!")
        body = token[1:] if negated else token
        if not body:
            raise InvalidInputError("'!' must be followed by a term, e.g. !status:completed")
        key, sep, value = body.partition(":")
        key = _ALIASES.get(key.lower(), key.lower())
        if not sep or (key not in KEYS and (not key.isalpha() or value.startswith("//"))):
            terms.append(Term("text", (body,), negated))  # "https://…", "a1:b" stay free text
            continue
        if key not in KEYS:
            raise InvalidInputError(
                f"unknown filter key {key!r} (keys: {', '.join(KEYS)}; quote text that contains ':')"
            )
        values = tuple(v.strip() for v in value.split(",") if v.strip())
        if not values:
            raise InvalidInputError(f"{key}: needs a value, e.g. {key}:{_EXAMPLE[key]}")
        if key == "since":
            if negated or len(values) > 1:
                raise InvalidInputError("since: takes one duration or time and cannot be negated")
            since = _since(values[0], now)
            continue
        terms.append(Term(key, _normalised(key, values), negated))
    return JobSearch(terms=tuple(terms), created_since=since)


_EXAMPLE = {
    "status": "failed", "type": "sync-rss", "queue": "context-scraping", "org": "acme", "id": "3f2a",
    "error": "timeout", "class": "TimeoutError", "worker": "host1", "schedule": "sch_3f2a", "since": "1h",
}  # fmt: skip


def _normalised(key: str, values: tuple[str, ...]) -> tuple[str, ...]:
    if key == "status":
        try:
            return tuple(parse_status(v).value for v in values)
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
    if key == "type":
        return tuple(normalise_type_name(v) for v in values)
    return values


def _since(value: str, now: datetime) -> datetime:
    try:
        return now - parse_duration(value)
    except ValueError:
        pass
    try:
        return parse_when(value)
    except ValueError:
        raise InvalidInputError(
            f"since: {value!r} is neither a duration (30m, 2h, 1d) nor an ISO time"
        ) from None
