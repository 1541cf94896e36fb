"""The services a benchmark run uses, and how it keeps them to itself.

Redis: `JOBCTL_REDIS_URL`, else redis://127.0.0.1:6379/5. The run flushes that database
between benchmarks, so it refuses a database that holds keys it did not write (it marks the
ones it owns with one key). PostgreSQL: a private schema, created and dropped by the run, in
the database `JOBCTL_DATABASE_URL` names when it is a PostgreSQL URL, else in
postgresql+psycopg://postgres@127.0.0.1:5432/test. SQLite: a file in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import redis

    from jobctl.settings import Settings

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
OWNER_KEY = "jobctl-benchmarks:owner"
SIZES = ("tiny", "small", "default")
ROOT = Path(__file__).resolve().parents[1]


class BenchmarkSetupError(Exception):
    """The run cannot start (a service is missing or not ours to use): one line for the user."""


class Env:
    """What every benchmark receives: the size, the services, scratch space, executables."""

    def __init__(self, size: str, environ: dict[str, str] | None = None) -> None:
        if size not in SIZES:
            raise BenchmarkSetupError(f"unknown size {size!r} (use {', '.join(SIZES)})")
        environ = dict(os.environ if environ is None else environ)
        self.size = size
        self.redis_url = environ.get("JOBCTL_REDIS_URL") or DEFAULT_REDIS_URL
        configured_db = environ.get("JOBCTL_DATABASE_URL", "")
        self.pg_server_url = configured_db if configured_db.startswith("postgres") else DEFAULT_PG_URL
        self.tmp = Path(tempfile.mkdtemp(prefix="jobctl-bench-"))
        self.bin_dir = Path(sys.executable).parent
        self._redis: redis.Redis | None = None
        self._lasting = ExitStack()
        self._kept: dict[object, Any] = {}

    def pick(self, *, tiny: int, small: int, default: int) -> int:
        """The size of a benchmark's workload for this run."""
        return {"tiny": tiny, "small": small, "default": default}[self.size]

    def exe(self, name: str) -> str:
        """A console script installed next to this Python (jobctl, rq)."""
        path = self.bin_dir / name
        found = str(path) if path.exists() else shutil.which(name)
        if not found:
            raise BenchmarkSetupError(f"{name} is not installed next to {sys.executable}")
        return found

    def help_text(self, *command: str) -> str:
        """`jobctl COMMAND... --help` (cached): what this jobctl can do, e.g. worker options."""
        key = ("help", *command)
        if key not in self._kept:
            out = subprocess.run(
                [self.exe("jobctl"), *command, "--help"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            self._kept[key] = out.stdout if out.returncode == 0 else ""
        return str(self._kept[key])

    # -- Redis ----------------------------------------------------------------------------------

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            import redis as redis_lib

            self._redis = redis_lib.Redis.from_url(self.redis_url)
        return self._redis

    def claim_redis(self) -> None:
        """Take the Redis database for this run; refuse one that holds someone else's keys."""
        import redis as redis_lib

        try:
            size = self.redis.dbsize()
            owned = self.redis.exists(OWNER_KEY)
        except redis_lib.RedisError as exc:
            raise BenchmarkSetupError(f"cannot reach Redis at {_masked(self.redis_url)}: {exc}") from None
        if size and not owned:
            raise BenchmarkSetupError(
                f"Redis database {_masked(self.redis_url)} holds {size} keys that are not the benchmarks': "
                "the run flushes its database, so point JOBCTL_REDIS_URL at an empty one"
            )
        self.flush_redis()

    def flush_redis(self) -> None:
        self.redis.flushdb()
        self.redis.set(OWNER_KEY, "1")

    # -- databases ------------------------------------------------------------------------------

    @contextmanager
    def postgres(self) -> Iterator[str]:
        """A migrated jobctl database in a private PostgreSQL schema, dropped afterwards."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        schema = f"jobctl_bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(_psycopg(self.pg_server_url), poolclass=NullPool)
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        except Exception as exc:
            admin.dispose()
            raise BenchmarkSetupError(
                f"cannot create a schema in {_masked(self.pg_server_url)}: {type(exc).__name__}"
            ) from None
        url = _with_search_path(_psycopg(self.pg_server_url), schema)
        try:
            self._migrate(url)
            yield url
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

    @contextmanager
    def sqlite(self) -> Iterator[str]:
        """A migrated jobctl database in a fresh SQLite file, deleted afterwards."""
        directory = Path(tempfile.mkdtemp(prefix="db-", dir=self.tmp))
        url = f"sqlite:///{directory / 'jobctl.db'}"
        try:
            self._migrate(url)
            yield url
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    @contextmanager
    def database(self, backend: str) -> Iterator[str]:
        with self.postgres() if backend == "pg" else self.sqlite() as url:
            yield url

    def commit_ms(self, url: str, samples: int = 200) -> float | None:
        """Median time of a one-row INSERT and its commit through the raw driver (PostgreSQL
        only): the floor under any durable per-job write, shown next to the jobctl figures."""
        if not url.startswith("postgresql"):
            return None
        import psycopg

        conninfo, kwargs = libpq_url(url)
        times = []
        with psycopg.connect(conninfo, **kwargs) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (id serial PRIMARY KEY, v int)")
            for i in range(samples):
                start = time.perf_counter()
                conn.execute("INSERT INTO bench_commit_probe (v) VALUES (%s)", (i,))
                times.append((time.perf_counter() - start) * 1000)
            conn.execute("DROP TABLE bench_commit_probe")
        return statistics.median(times)

    def _migrate(self, url: str) -> None:
        from jobctl.api import upgrade_database

        upgrade_database(self.settings(url))

    def kept(self, key: str, make: Callable[[], AbstractContextManager[Any]]) -> Any:
        """Enter `make()` once per run and share its value (e.g. a table of a million rows that
        several benchmarks read); it is exited when the run ends."""
        if key not in self._kept:
            self._kept[key] = self._lasting.enter_context(make())
        return self._kept[key]

    # -- jobctl configuration -------------------------------------------------------------------

    def jobctl_environ(self, database_url: str) -> dict[str, str]:
        """The JOBCTL_* variables a user would set for this run (also used by subprocesses)."""
        return {
            "HOME": str(self.tmp),
            "XDG_CONFIG_HOME": str(self.tmp / "config"),
            "JOBCTL_DATA_DIR": str(self.tmp / "data"),
            "JOBCTL_DATABASE_URL": database_url,
            "JOBCTL_REDIS_URL": self.redis_url,
        }

    def settings(self, database_url: str) -> Settings:
        from jobctl.settings import load_settings

        return load_settings(env=self.jobctl_environ(database_url))

    def subprocess_environ(self, database_url: str | None = None, **extra: str) -> dict[str, str]:
        """os.environ plus this run's settings; the repository root importable (for benchmarks.*)."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("JOBCTL_")}
        if database_url is not None:
            environ.update(self.jobctl_environ(database_url))
        else:
            environ.update({"HOME": str(self.tmp), "XDG_CONFIG_HOME": str(self.tmp / "config")})
        path = environ.get("PYTHONPATH")
        environ["PYTHONPATH"] = f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)
        environ.update(extra)
        return environ

    def close(self) -> None:
        self._lasting.close()
        if self._redis is not None:
            self._redis.flushdb()
            self._redis.close()
            self._redis = None
        shutil.rmtree(self.tmp, ignore_errors=True)


def _psycopg(url: str) -> str:
    """SQLAlchemy URL for psycopg 3 (plain postgresql:// would pick psycopg2)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def _masked(url: str) -> str:
    from jobctl.domain.redaction import mask_url

    return mask_url(url)


def libpq_url(sqlalchemy_url: str) -> tuple[str, dict[str, Any]]:
    """A psycopg.connect() conninfo for a SQLAlchemy PostgreSQL URL (for the raw-driver baselines)."""
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url)
    query = dict(url.query)
    options = query.pop("options", None)
    conninfo = url.set(drivername="postgresql", query=query).render_as_string(hide_password=False)
    kwargs: dict[str, Any] = {"autocommit": True}
    if options:
        kwargs["options"] = options if isinstance(options, str) else options[0]
    return conninfo, kwargs
