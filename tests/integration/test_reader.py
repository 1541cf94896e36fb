"""The driver-only reader (store/reader.py) against the store it shortcuts, on both backends.

The reader repeats the list statement's filter and order in plain SQL so one-shot commands
skip importing SQLAlchemy; these tests hold the two to the same answers.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from jobctl.domain.records import JobError, JobFilter, NewJob
from jobctl.domain.status import JobStatus
from jobctl.store.jobs_repo import JobRepository
from jobctl.store.reader import open_reader

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _seed(repo: JobRepository) -> None:
    for i in range(40):
        repo.insert(
            NewJob(
                id=f"job-{i:02d}",
                type="sync-rss" if i % 2 else "scrape-website",
                queue="context-scraping" if i % 3 else "analytics-sync",
                organization_id="acme" if i < 25 else None,
                payload={"n": i, "nested": {"a": [1, 2]}},
                max_attempts=4,
                schedule_id="sched" if i % 5 == 0 else None,
                scheduled_for=T0 + timedelta(hours=1) if i % 7 == 0 else None,
            ),
            T0 + timedelta(minutes=i // 2),  # pairs share created_at: the id breaks the tie
        )
    for i in range(0, 40, 3):
        repo.claim(f"job-{i:02d}", "host.1", T0 + timedelta(seconds=i))
        if i % 2:
            repo.complete(f"job-{i:02d}", 1, {"ok": i}, T0 + timedelta(seconds=i, milliseconds=250))
        else:
            repo.fail(f"job-{i:02d}", 1, JobError("ValueError", f"bad {i}", "Traceback ..."), T0)


FILTERS = [
    JobFilter(limit=0),
    JobFilter(limit=7),
    JobFilter(statuses=(JobStatus.FAILED,)),
    JobFilter(statuses=(JobStatus.FAILED, JobStatus.COMPLETED), limit=100),
    JobFilter(types=("sync-rss",), queues=("context-scraping", "analytics-sync")),
    JobFilter(organization_id="acme", since=T0 + timedelta(minutes=3)),
    JobFilter(schedule_id="sched", limit=3),
    JobFilter(before=(T0 + timedelta(minutes=10), "job-21"), limit=6),
    JobFilter(statuses=(JobStatus.PENDING,), before=(T0 + timedelta(minutes=15), "job-30"), limit=5),
    JobFilter(since=T0 + timedelta(days=1)),
]


@pytest.mark.parametrize("flt", FILTERS, ids=range(len(FILTERS)))
def test_reader_lists_what_the_store_lists(db_url: str, engine: Engine, flt: JobFilter) -> None:
    repo = JobRepository(engine)
    _seed(repo)
    reader = open_reader(db_url)
    assert reader is not None
    try:
        expected = repo.list(flt)
        got = reader.list(flt)
        assert [r.id for r in got] == [r.id for r in expected]
        assert got == expected
        for lazy, eager in zip(got, expected, strict=True):
            assert lazy.to_json() == eager.to_json()
            assert all(getattr(lazy, f.name) == getattr(eager, f.name) for f in dataclasses.fields(eager))
        for record in expected[:3]:
            assert reader.get(record.id) == repo.get(record.id)
        assert reader.get("no-such-job") is None
    finally:
        reader.close()


def test_reader_declines_what_the_store_must_handle(db_url: str, tmp_path: Path) -> None:
    from jobctl.store.engine import create_store_engine

    assert open_reader("mysql://nobody@localhost/jobs") is None
    assert open_reader("sqlite://") is None
    missing = tmp_path / "never-created.db"
    assert open_reader(f"sqlite:///{missing}") is None
    assert not missing.exists(), "the reader must not create a database file"
    # A database jobctl never set up (no alembic_version): the store creates or refuses it.
    engine = create_store_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE unrelated (x integer)")
    finally:
        engine.dispose()
    assert open_reader(db_url) is None


def test_jobs_list_command_runs_without_sqlalchemy(db_url: str, engine: Engine, tmp_path: Path) -> None:
    """`jobctl jobs list` / `jobs show` on a migrated database import neither SQLAlchemy nor
    SQLModel nor redis: what made the command take 500 ms."""
    _seed(JobRepository(engine))
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['jobctl'] + sys.argv[1:]\n"
        "try:\n"
        "    runpy.run_module('jobctl', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'redis', 'rq', 'alembic') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    env = {**os.environ, "JOBCTL_DATABASE_URL": db_url, "JOBCTL_REDIS_URL": "redis://127.0.0.1:1/0"}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    for args in (["jobs", "list", "--status", "failed", "--limit", "3"], ["jobs", "show", "job-00"]):
        out = subprocess.run(
            [sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert "HEAVY []" in out.stderr, out.stderr
        assert "job-" in out.stdout and "ValueError" in out.stdout, out.stdout


def test_reader_is_shared_safely_between_threads(db_url: str, engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    _seed(JobRepository(engine))
    reader = open_reader(db_url)
    assert reader is not None
    try:
        with ThreadPoolExecutor(8) as pool:
            pages = list(pool.map(lambda _: [r.id for r in reader.list(JobFilter(limit=10))], range(64)))
        assert all(page == pages[0] for page in pages) and len(pages[0]) == 10
    finally:
        reader.close()
