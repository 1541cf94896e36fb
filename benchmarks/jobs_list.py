"""`jobctl jobs list --status failed --limit 50` on a table of 1,000,000 jobs.

Two rows per backend: the API call in-process (`JobctlAPI.list_jobs`) against the same
query through the raw driver on an open connection, and the CLI command's wall time against
a process that runs the same query through the raw driver and prints the rows. The table is
filled in SQL (generate_series / a recursive CTE), one row a second up to now (see _STATUS).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.environment import Env, libpq_url
from benchmarks.harness import Benchmark, Result, Target, at_most, at_most_abs, paired_medians_ms
from benchmarks.raw_list import QUERY
from benchmarks.timing import command_medians_ms

_TRACEBACK = "Traceback (most recent call last):\\n" + '  File "/srv/app/jobs.py", line 42, in run\\n' * 12
# Row n of N was created N - n seconds ago: 5 % FAILED (with a traceback), 10 % PENDING (the
# "queued" backlog the dashboard benchmark also puts into RQ), ~1 % CANCELLED, the rest COMPLETED.
_STATUS = (
    "CASE WHEN {n} % 20 = 0 THEN 'FAILED' WHEN {n} % 10 = 3 THEN 'PENDING' "
    "WHEN {n} % 97 = 2 THEN 'CANCELLED' ELSE 'COMPLETED' END"
)
_COLUMNS = (
    "id, type, queue, status, organization_id, payload, result, error_type, error_message, "
    "error_traceback, attempts, max_attempts, created_at, started_at, finished_at, updated_at, worker"
)
_PG_FILL = f"""
INSERT INTO jobs ({_COLUMNS})
SELECT 'bench-' || lpad(n::text, 8, '0'), 'ping', 'analytics-sync', {_STATUS.format(n="n")},
       'org-' || (n % 100), '{{"sleep_s": 0}}'::jsonb,
       CASE WHEN n % 20 = 0 OR n % 10 = 3 THEN NULL ELSE '{{"pong": true}}'::jsonb END,
       CASE WHEN n % 20 = 0 THEN 'JobProcessingError' END,
       CASE WHEN n % 20 = 0 THEN 'upstream answered 503 for job ' || n END,
       CASE WHEN n % 20 = 0 THEN E'{_TRACEBACK}' END,
       CASE WHEN n % 10 = 3 AND n % 20 <> 0 THEN 0 ELSE 1 END, 4, t,
       CASE WHEN n % 10 = 3 AND n % 20 <> 0 THEN NULL ELSE t END,
       CASE WHEN n % 10 = 3 AND n % 20 <> 0 THEN NULL ELSE t + interval '150 milliseconds' END,
       t + interval '150 milliseconds',
       CASE WHEN n % 10 = 3 AND n % 20 <> 0 THEN NULL ELSE 'host-1.4242' END
FROM (SELECT n, date_trunc('second', now()) - (:rows - n) * interval '1 second' AS t
      FROM generate_series(1, :rows) AS n) AS g
"""
_SQLITE_TIME = "strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (:rows - n) || ' seconds') || '{frac}'"
_SQLITE_PENDING = "n % 10 = 3 AND n % 20 <> 0"
_SQLITE_FILL = f"""
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :rows)
INSERT INTO jobs ({_COLUMNS})
SELECT 'bench-' || printf('%08d', n), 'ping', 'analytics-sync', {_STATUS.format(n="n")},
       'org-' || (n % 100), '{{"sleep_s": 0}}',
       CASE WHEN n % 20 = 0 OR n % 10 = 3 THEN NULL ELSE '{{"pong": true}}' END,
       CASE WHEN n % 20 = 0 THEN 'JobProcessingError' END,
       CASE WHEN n % 20 = 0 THEN 'upstream answered 503 for job ' || n END,
       CASE WHEN n % 20 = 0 THEN replace('{_TRACEBACK}', '\\n', char(10)) END,
       CASE WHEN {_SQLITE_PENDING} THEN 0 ELSE 1 END, 4, {_SQLITE_TIME.format(frac=".000000")},
       CASE WHEN {_SQLITE_PENDING} THEN NULL ELSE {_SQLITE_TIME.format(frac=".000000")} END,
       CASE WHEN {_SQLITE_PENDING} THEN NULL ELSE {_SQLITE_TIME.format(frac=".150000")} END,
       {_SQLITE_TIME.format(frac=".150000")},
       CASE WHEN {_SQLITE_PENDING} THEN NULL ELSE 'host-1.4242' END
FROM g
"""


def _fill(url: str, rows: int) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text(_PG_FILL), {"rows": rows})
                conn.execute(text("ANALYZE jobs"))
            else:
                conn.execute(text(_SQLITE_FILL), {"rows": rows})
                conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def _raw_fetch(backend: str, url: str) -> tuple[Any, Any]:
    """A raw driver connection kept open, and a function that runs the query once on it."""
    if backend == "pg":
        import psycopg

        conninfo, kwargs = libpq_url(url)
        conn: Any = psycopg.connect(conninfo, **kwargs)
        sql = QUERY.format(p="%s")
    else:
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        sql = QUERY.format(p="?")
    return conn, lambda: conn.execute(sql, ("FAILED",)).fetchall()


@contextmanager
def filled(env: Env, backend: str) -> Iterator[tuple[str, int]]:
    """A migrated database holding the benchmark's table of jobs; shared through env.kept."""
    rows = env.pick(tiny=2_000, small=50_000, default=1_000_000)
    with env.database(backend) as url:
        _fill(url, rows)
        yield url, rows


def run_api(env: Env, backend: str) -> Result:
    """The API call in-process vs the same query on an open raw-driver connection."""
    from jobctl.api import JobctlAPI
    from jobctl.domain.records import JobFilter
    from jobctl.domain.status import JobStatus

    url, rows = env.kept(f"jobs-{backend}", lambda: filled(env, backend))
    repeat = env.pick(tiny=5, small=30, default=100)
    api = JobctlAPI(env.settings(url))
    conn, raw = _raw_fetch(backend, url)
    flt = JobFilter(statuses=(JobStatus.FAILED,), limit=50)
    try:
        if len(api.list_jobs(flt)) != 50 or len(raw()) != 50:
            raise RuntimeError("the filled table does not give 50 failed jobs")
        api_ms, raw_ms = paired_medians_ms(lambda: api.list_jobs(flt), raw, repeat)
    finally:
        conn.close()
        api.close()
    targets: list[Target] = [at_most(1.5)]
    if backend == "pg":
        targets.append(at_most_abs(50, "ms"))
    return Result(f"jobs-list-api-{backend}", api_ms, raw_ms, "ms", targets, note=_rows(rows))


def run_cli(env: Env, backend: str) -> Result:
    """The command's wall time vs the same command written directly on the driver with the
    CLI stack jobctl is built on (raw_list_cli.py: Typer + rich). A bare-driver script with no
    CLI framework is timed too and shown in the note: Typer alone (it coerces options through
    pydantic) costs more than the query, so that ratio measures Typer, not jobctl."""
    url, rows = env.kept(f"jobs-{backend}", lambda: filled(env, backend))
    runs = env.pick(tiny=2, small=10, default=10)
    here = Path(__file__).parent
    if backend == "pg":
        conninfo, kwargs = libpq_url(url)
        target = [conninfo, kwargs.get("options", "")]
    else:
        target = [url.removeprefix("sqlite:///"), ""]
    bare = [sys.executable, str(here / "raw_list.py"), backend, *target]
    framed = [sys.executable, str(here / "raw_list_cli.py"), "--status", "failed", "--limit", "50"]
    framed += ["--", backend, *target]  # `--`: PostgreSQL options start with "-c"
    command = [env.exe("jobctl"), "jobs", "list", "--status", "failed", "--limit", "50"]
    cli_ms, base_ms, bare_ms = command_medians_ms(
        [command, framed, bare],
        env.subprocess_environ(url),
        runs,
        warmup=1 if env.size == "tiny" else 3,
    )
    note = f"{_rows(rows)}; baseline: Typer + rich + driver; bare driver script: {bare_ms:.0f} ms"
    return Result(f"jobs-list-cli-{backend}", cli_ms, base_ms, "ms", [at_most(1.5)], note=note)


def _rows(rows: int) -> str:
    return f"{rows:,} rows"


BENCHMARKS = [
    Benchmark(
        "jobs-list-api-pg",
        "JobctlAPI.list_jobs(failed, 50) on PostgreSQL vs psycopg",
        lambda e: run_api(e, "pg"),
    ),
    Benchmark(
        "jobs-list-api-sqlite",
        "JobctlAPI.list_jobs(failed, 50) on SQLite vs sqlite3",
        lambda e: run_api(e, "sqlite"),
    ),
    Benchmark(
        "jobs-list-cli-pg",
        "jobctl jobs list --status failed --limit 50, PostgreSQL",
        lambda e: run_cli(e, "pg"),
    ),
    Benchmark(
        "jobs-list-cli-sqlite",
        "jobctl jobs list --status failed --limit 50, SQLite",
        lambda e: run_cli(e, "sqlite"),
    ),
]
