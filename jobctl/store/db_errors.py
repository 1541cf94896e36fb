"""Which database errors mean "unavailable", and how to say so in one line (no SQLAlchemy
import: the driver-only reader and the SQLAlchemy store share these)."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from jobctl.domain.errors import DatabaseUnavailableError
from jobctl.domain.redaction import mask_url, redact


def database_errors() -> tuple[type[BaseException], ...]:
    """Exception classes that mean "the database is unreachable or unusable right now".

    Callers (and the repositories) translate these into DatabaseUnavailableError. They cover
    SQLAlchemy's wrappers and the raw driver errors, for code that touches a driver directly.
    Built when an `except` clause matches (Python evaluates it only then), from the drivers
    already loaded: a process that never imported psycopg or SQLAlchemy cannot get their errors,
    and importing them just to name them cost a SQLite `jobs list` 35 ms and 120 ms.
    """
    import sqlite3

    errors: list[type[BaseException]] = [sqlite3.OperationalError, sqlite3.InterfaceError]
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None:
        errors += [
            sa_exc.OperationalError,
            sa_exc.InterfaceError,
            sa_exc.TimeoutError,  # pool exhausted: the database is not answering fast enough
        ]
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        errors += [psycopg.OperationalError, psycopg.InterfaceError]
    return tuple(errors)


_CONNECT_WORDS = re.compile(
    r"refused|could not connect|connection|timeout expired|timed out|could not translate host|"
    r"name or service not known|unable to open database file|no route to host|server closed",
    re.IGNORECASE,
)


_SEVERITY = re.compile(r"^(?:FATAL|ERROR|PANIC):\s+")


def describe_db_error(url: str, exc: BaseException) -> str:
    """One line for a user: what failed, where (masked URL), the driver's reason, no secrets."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    wrapped = sa_exc is not None and isinstance(exc, sa_exc.DBAPIError)
    driver_exc = getattr(exc, "orig", None) if wrapped else None
    orig = driver_exc if driver_exc is not None else exc
    lines = [line.strip() for line in str(orig).splitlines() if line.strip()]
    detail = lines[0] if lines else type(orig).__name__
    # psycopg: 'connection failed: connection to server at "h" (1.2.3.4), port 5432 failed:
    # Connection refused' -> keep the reason after the last "failed:".
    if "failed:" in detail:
        detail = detail.rsplit("failed:", 1)[1].strip() or detail
    # PostgreSQL's severity prefix ("FATAL:  sorry, too many clients already") says nothing to a
    # user; and only a capitalised word is lowered ("Connection refused"), never an acronym.
    detail = " ".join(_SEVERITY.sub("", detail).split()) or detail
    if detail[1:2].islower():
        detail = detail[:1].lower() + detail[1:]
    detail = redact(detail)
    where = mask_url(url)
    if _CONNECT_WORDS.search(str(orig)) or (wrapped and getattr(exc, "connection_invalidated", False)):
        return f"cannot reach the database at {where}: {detail}"
    return f"database error at {where}: {detail}"


class _HasDatabase(Protocol):
    _db_errors: tuple[type[BaseException], ...]
    _label: str


_S = TypeVar("_S", bound=_HasDatabase)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def translated(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """A repository method whose driver/connection failures become DatabaseUnavailableError
    with a masked URL (the repository names its errors in `_db_errors`, its URL in `_label`)."""

    @functools.wraps(method)
    def wrapper(self: _S, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except self._db_errors as exc:
            raise DatabaseUnavailableError(describe_db_error(self._label, exc)) from exc

    return wrapper
