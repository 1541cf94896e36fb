"""The store against real databases: SQLite files and PostgreSQL (a private schema per test)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from jobctl.domain.errors import DatabaseUnavailableError, SchemaOutOfDateError, TooManyJobsError
from jobctl.domain.records import JobError, JobFilter, NewJob
from jobctl.domain.status import JobStatus
from jobctl.store.engine import (
    MIGRATIONS_DIR,
    create_store_engine,
    current_revision,
    describe_db_error,
    ensure_schema,
    upgrade_schema,
)
from jobctl.store.jobs_repo import JobRepository
from jobctl.store.revision import HEAD_REVISION, KNOWN_REVISIONS
from jobctl.store.tables import METADATA

REPO_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
ERR = JobError(type="ValueError", message="boom", traceback="Traceback ...")


def new_job(job_id: str, **kw: Any) -> NewJob:
    defaults: dict[str, Any] = {
        "type": "ping",
        "queue": "analytics-sync",
        "organization_id": "acme",
        "payload": {"sleep_s": 0, "nested": {"a": [1, 2]}},
        "max_attempts": 4,
    }
    return NewJob(id=job_id, **{**defaults, **kw})


@pytest.fixture
def repo(engine: Engine) -> JobRepository:
    return JobRepository(engine)


# -- schema and migrations ---------------------------------------------------------------


def test_migrates_empty_database_to_head_and_matches_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    eng = create_store_engine(db_url)
    try:
        assert current_revision(eng) is None
        assert upgrade_schema(eng) == (None, HEAD_REVISION)
        assert upgrade_schema(eng) == (HEAD_REVISION, HEAD_REVISION)
        ensure_schema(eng, auto_upgrade=False)
        with eng.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), METADATA)
        assert diffs == []
    finally:
        eng.dispose()


def test_head_revision_is_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [HEAD_REVISION]
    history = [rev.revision for rev in script.walk_revisions()]
    assert tuple(reversed(history)) == KNOWN_REVISIONS


@pytest.mark.postgres
def test_ensure_schema_refuses_empty_postgres(postgres_url: str) -> None:
    eng = create_store_engine(postgres_url)
    try:
        with pytest.raises(SchemaOutOfDateError) as info:
            ensure_schema(eng, auto_upgrade=False)
        assert f"jobctl needs {HEAD_REVISION}: run `jobctl db upgrade`" in str(info.value)
        assert current_revision(eng) is None  # refusing changed nothing
    finally:
        eng.dispose()


def test_ensure_schema_auto_upgrades_and_refuses_newer(sqlite_url: str) -> None:
    eng = create_store_engine(sqlite_url)
    try:
        ensure_schema(eng, auto_upgrade=True)
        assert current_revision(eng) == HEAD_REVISION
        with eng.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        with pytest.raises(SchemaOutOfDateError, match="newer than this jobctl"):
            ensure_schema(eng, auto_upgrade=True)
    finally:
        eng.dispose()


def test_concurrent_processes_upgrade_fresh_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "shared.db"
    start_at = time.time() + 1.5  # every process imports first, then all start together
    script = textwrap.dedent(f"""
        import time
        from jobctl.store.engine import create_store_engine, upgrade_schema
        eng = create_store_engine("sqlite:///{db}")
        time.sleep(max(0.0, {start_at} - time.time()))
        print(upgrade_schema(eng))
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    results = sorted(out.strip() for out, _ in outputs)
    # Exactly one process did the work; the others found it done.
    assert results == sorted([f"(None, '{HEAD_REVISION}')"] + [f"('{HEAD_REVISION}', '{HEAD_REVISION}')"] * 3)


@pytest.mark.postgres
def test_concurrent_upgrades_of_fresh_postgres_schema(postgres_url: str) -> None:
    engines = [create_store_engine(postgres_url) for _ in range(3)]
    results: list[Any] = []
    barrier = threading.Barrier(len(engines))

    def run(eng: Engine) -> None:
        barrier.wait()
        try:
            results.append(upgrade_schema(eng))
        except Exception as exc:  # reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=run, args=(eng,)) for eng in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for eng in engines:
        eng.dispose()
    assert sorted(map(str, results)) == sorted(
        [str((None, HEAD_REVISION))] + [str((HEAD_REVISION, HEAD_REVISION))] * 2
    )


def test_unreachable_postgres_is_database_unavailable_with_masked_url() -> None:
    eng = create_store_engine("postgresql+psycopg://user:s3cretpw@127.0.0.1:1/nope")
    try:
        with pytest.raises(DatabaseUnavailableError) as info:
            JobRepository(eng).get("x")
        message = str(info.value)
        assert "s3cretpw" not in message and "user:***@127.0.0.1:1/nope" in message
        assert message.startswith("cannot reach the database at ")
        with pytest.raises(DatabaseUnavailableError):
            ensure_schema(eng, auto_upgrade=False)
    finally:
        eng.dispose()


def test_describe_db_error_is_one_line() -> None:
    exc = RuntimeError("connection to server failed: Connection refused\n\tIs the server running?")
    assert describe_db_error("postgresql://a:b@h/db", exc) == (
        "cannot reach the database at postgresql://a:***@h/db: connection refused"
    )


def test_describe_db_error_drops_the_severity_and_keeps_acronyms() -> None:
    """Seen with a saturated server: 'fATAL:  sorry, ...' was printed."""
    exc = RuntimeError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        "FATAL:  sorry, too many clients already"
    )
    assert describe_db_error("postgresql://h/db", exc) == (
        "cannot reach the database at postgresql://h/db: sorry, too many clients already"
    )
    assert describe_db_error("postgresql://h/db", RuntimeError("SSL SYSCALL error: EOF")).endswith(
        ": SSL SYSCALL error: EOF"
    )


def test_sqlite_pragmas(sqlite_url: str) -> None:
    eng = create_store_engine(sqlite_url)
    try:
        with eng.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        eng.dispose()


# -- inserting ---------------------------------------------------------------------------


def test_insert_is_idempotent_by_id(repo: JobRepository) -> None:
    assert repo.insert(new_job("a"), T0) is True
    assert repo.insert(new_job("a", payload={"other": True}), T0 + timedelta(seconds=5)) is False
    job = repo.get("a")
    assert job is not None
    assert job.payload == {"sleep_s": 0, "nested": {"a": [1, 2]}}  # the first write wins
    assert (job.status, job.attempts, job.max_attempts, job.created_at, job.updated_at) == (
        JobStatus.PENDING, 0, 4, T0, T0,
    )  # fmt: skip
    assert job.result is None and job.error is None and job.worker is None and job.next_attempt_at is None


def test_insert_many_reports_per_row(repo: JobRepository) -> None:
    repo.insert(new_job("old"), T0)
    later = T0 + timedelta(hours=1)
    flags = repo.insert_many(
        [new_job("n1"), new_job("old"), new_job("n2", scheduled_for=later, schedule_id="s1"), new_job("n1")],
        T0,
    )
    assert flags == [True, False, True, False]
    n2 = repo.get("n2")
    assert (
        n2 is not None
        and n2.scheduled_for == later
        and n2.next_attempt_at == later
        and n2.schedule_id == "s1"
    )
    assert repo.insert_many([], T0) == []
    assert set(repo.get_many(["n1", "n2", "old", "missing"])) == {"n1", "n2", "old"}


def test_insert_many_large_batch(repo: JobRepository) -> None:
    jobs = [new_job(f"bulk-{i:05d}", organization_id=f"org{i % 7}") for i in range(5000)]
    assert all(repo.insert_many(jobs, T0))
    assert repo.insert_many([*jobs[:3], new_job("fresh")], T0) == [False, False, False, True]
    assert repo.counts_by_status()[JobStatus.PENDING] == 5001
    assert len(repo.get_many([j.id for j in jobs])) == 5000


def test_naive_datetimes_are_refused(repo: JobRepository) -> None:
    with pytest.raises(ValueError, match="naive"):
        repo.insert(new_job("a"), datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        repo.insert(new_job("b", scheduled_for=datetime(2026, 1, 1)), T0)


def test_datetimes_round_trip_as_aware_utc(repo: JobRepository) -> None:
    plus5 = timezone(timedelta(hours=5))
    created = datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=plus5)
    repo.insert(new_job("tz", scheduled_for=created + timedelta(days=1)), created)
    job = repo.get("tz")
    assert job is not None
    assert job.created_at == created and job.created_at.tzinfo is UTC
    assert job.created_at == datetime(2026, 6, 30, 18, 59, 59, 999999, tzinfo=UTC)
    assert job.scheduled_for is not None and job.scheduled_for.utcoffset() == timedelta(0)
    assert job.scheduled_for == created + timedelta(days=1)


# -- an execution's life -----------------------------------------------------------------


def test_claim_complete_and_fence(repo: JobRepository) -> None:
    repo.insert(new_job("j", scheduled_for=T0), T0)
    t1 = T0 + timedelta(seconds=1)
    assert repo.claim("j", "w1", t1) == 1
    assert repo.claim("j", "w2", t1) is None  # already running
    job = repo.get("j")
    assert job is not None
    assert (job.status, job.attempts, job.worker, job.started_at, job.next_attempt_at, job.updated_at) == (
        JobStatus.RUNNING, 1, "w1", t1, None, t1,
    )  # fmt: skip
    assert repo.complete("j", 2, {"wrong": True}, t1) is False  # no such attempt
    t2 = T0 + timedelta(seconds=2)
    assert repo.complete("j", 1, {"ok": [1, "two"]}, t2) is True
    assert repo.complete("j", 1, {"again": True}, t2) is False  # no longer RUNNING
    assert repo.fail("j", 1, ERR, t2) is False
    job = repo.get("j")
    assert job is not None
    assert (job.status, job.result, job.finished_at, job.error) == (
        JobStatus.COMPLETED,
        {"ok": [1, "two"]},
        t2,
        None,
    )
    assert job.duration_s == 1.0


def test_retry_then_stale_attempt_is_rejected(repo: JobRepository) -> None:
    repo.insert(new_job("j"), T0)
    assert repo.claim("j", "w1", T0) == 1
    next_at = T0 + timedelta(seconds=60)
    assert repo.schedule_retry("j", 1, ERR, next_at, T0) is True
    job = repo.get("j")
    assert job is not None
    assert (job.status, job.error, job.next_attempt_at, job.worker) == (JobStatus.PENDING, ERR, next_at, None)
    assert repo.schedule_retry("j", 1, ERR, next_at, T0) is False  # not RUNNING any more
    assert repo.claim("j", "w2", next_at) == 2
    # The first execution reports late: attempt 1 must not overwrite attempt 2.
    assert repo.complete("j", 1, "late", next_at) is False
    assert repo.fail("j", 1, ERR, next_at) is False
    assert repo.schedule_retry("j", 1, ERR, next_at, next_at) is False
    job = repo.get("j")
    assert job is not None and (job.status, job.attempts, job.worker) == (JobStatus.RUNNING, 2, "w2")
    assert job.error == ERR  # the failed attempt's error stays visible while retrying
    err2 = JobError(type="KeyError", message="k", traceback=None)
    assert repo.fail("j", 2, err2, next_at) is True
    job = repo.get("j")
    assert job is not None and (job.status, job.error, job.finished_at) == (JobStatus.FAILED, err2, next_at)


def test_non_json_values_raise_plain_type_errors(repo: JobRepository) -> None:
    with pytest.raises(TypeError, match="JSON serializable"):
        repo.insert_many([new_job("a", payload={"x": object()}), new_job("b")], T0)
    assert repo.get("b") is None
    repo.insert(new_job("j"), T0)
    repo.claim("j", "w", T0)
    with pytest.raises(TypeError, match="JSON serializable"):
        repo.complete("j", 1, {"x": object()}, T0)
    job = repo.get("j")
    assert job is not None and job.status is JobStatus.RUNNING


def test_complete_clears_error_of_earlier_attempt(repo: JobRepository) -> None:
    repo.insert(new_job("j"), T0)
    repo.claim("j", "w", T0)
    repo.schedule_retry("j", 1, ERR, T0, T0)
    repo.claim("j", "w", T0)
    assert repo.complete("j", 2, None, T0) is True
    job = repo.get("j")
    assert job is not None and job.error is None and job.result is None and job.status is JobStatus.COMPLETED


# -- operator actions --------------------------------------------------------------------


def test_cancel_pending_and_running(repo: JobRepository) -> None:
    repo.insert_many([new_job("p"), new_job("r")], T0)
    repo.claim("r", "w", T0)
    t1 = T0 + timedelta(minutes=1)
    assert repo.cancel("p", t1) is JobStatus.PENDING
    assert repo.cancel("r", t1) is JobStatus.RUNNING
    assert repo.cancel("r", t1) is None  # already cancelled
    assert repo.cancel("missing", t1) is None
    assert repo.complete("r", 1, "late", t1) is False  # the cancelled execution cannot finish it
    for job_id in ("p", "r"):
        job = repo.get(job_id)
        assert job is not None and (job.status, job.finished_at, job.updated_at) == (
            JobStatus.CANCELLED,
            t1,
            t1,
        )
    assert repo.claim("p", "w", t1) is None


def test_requeue_failed_and_cancelled(repo: JobRepository) -> None:
    repo.insert_many([new_job("f"), new_job("c"), new_job("done"), new_job("p")], T0)
    repo.claim("f", "w", T0)
    repo.fail("f", 1, ERR, T0)
    repo.cancel("c", T0)
    repo.claim("done", "w", T0)
    repo.complete("done", 1, 1, T0)
    t1 = T0 + timedelta(hours=1)
    assert repo.requeue("f", 3, t1) is JobStatus.FAILED
    assert repo.requeue("c", 1, t1) is JobStatus.CANCELLED
    assert repo.requeue("done", 3, t1) is None
    assert repo.requeue("p", 3, t1) is None
    assert repo.requeue("missing", 3, t1) is None
    f = repo.get("f")
    assert f is not None
    assert (f.status, f.attempts, f.max_attempts, f.error, f.result) == (JobStatus.PENDING, 1, 4, None, None)
    assert (f.finished_at, f.worker, f.updated_at) == (None, None, t1)
    c = repo.get("c")
    assert c is not None and (c.status, c.max_attempts, c.finished_at) == (JobStatus.PENDING, 1, None)
    assert repo.claim("f", "w", t1) == 2


# -- queries -----------------------------------------------------------------------------


def _seed_for_listing(repo: JobRepository) -> None:
    for i in range(30):
        repo.insert(
            new_job(
                f"job-{i:02d}",
                type="sync-rss" if i % 2 else "scrape-website",
                queue="context-scraping" if i % 3 else "analytics-sync",
                organization_id="acme" if i < 20 else "globex",
                schedule_id="sched" if i % 5 == 0 else None,
            ),
            T0 + timedelta(minutes=i // 2),  # pairs share created_at: the id breaks the tie
        )
    for i in range(0, 30, 4):
        repo.claim(f"job-{i:02d}", "w", T0)
        repo.fail(f"job-{i:02d}", 1, ERR, T0)


def test_list_order_filters_and_keyset_pages(repo: JobRepository) -> None:
    _seed_for_listing(repo)
    everything = repo.list(JobFilter(limit=0))
    assert [j.id for j in everything] == [f"job-{i:02d}" for i in reversed(range(30))]
    pages, before = [], None
    while True:
        page = repo.list(JobFilter(limit=7, before=before))
        if not page:
            break
        pages.extend(page)
        before = (page[-1].created_at, page[-1].id)
    assert [j.id for j in pages] == [j.id for j in everything]

    failed = repo.list(JobFilter(statuses=(JobStatus.FAILED,)))
    assert [j.id for j in failed] == [f"job-{i:02d}" for i in reversed(range(0, 30, 4))]
    assert {j.error for j in failed} == {ERR}
    both = repo.list(
        JobFilter(statuses=(JobStatus.FAILED, JobStatus.PENDING), types=("sync-rss",), limit=100)
    )
    assert [j.id for j in both] == [f"job-{i:02d}" for i in reversed(range(1, 30, 2))]
    scoped = repo.list(
        JobFilter(organization_id="acme", queues=("analytics-sync",), since=T0 + timedelta(minutes=3))
    )
    assert [j.id for j in scoped] == ["job-18", "job-15", "job-12", "job-09", "job-06"]
    assert [j.id for j in repo.list(JobFilter(schedule_id="sched", limit=2))] == ["job-25", "job-20"]
    status_page = repo.list(
        JobFilter(statuses=(JobStatus.FAILED,), limit=3, before=(failed[2].created_at, failed[2].id))
    )
    assert [j.id for j in status_page] == [j.id for j in failed[3:6]]


def test_listed_records_read_lazily_equal_fetched_ones(repo: JobRepository, engine: Engine) -> None:
    """`list` defers converting fields to first access; the records must be indistinguishable
    from eagerly built ones (get), field by field, in JSON, repr and replace, on each backend,
    and the same through SQLAlchemy while the engine is observed (no deferral then)."""
    import dataclasses

    from sqlalchemy import event

    _seed_for_listing(repo)
    assert repo.claim("job-01", "w", T0) == 1
    assert repo.complete("job-01", 1, {"answer": [1, 2]}, T0 + timedelta(seconds=2))
    listed = repo.list(JobFilter(limit=0))
    fetched = [repo.get(j.id) for j in listed]
    assert listed == fetched
    for lazy, eager in zip(listed, fetched, strict=True):
        assert lazy is not None and eager is not None
        for f in dataclasses.fields(eager):
            assert getattr(lazy, f.name) == getattr(eager, f.name), f.name
        assert lazy.to_json() == eager.to_json()
        assert repr(lazy) == repr(eager)
        assert dataclasses.replace(lazy, worker="x") == dataclasses.replace(eager, worker="x")
    done = next(j for j in listed if j.id == "job-01")
    assert done.result == {"answer": [1, 2]} and done.created_at.tzinfo is UTC
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = listed[0].nope  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        listed[0].worker = "y"  # type: ignore[misc]
    import copy
    import pickle

    for clone in (pickle.loads(pickle.dumps(listed[1])), copy.copy(listed[1]), copy.deepcopy(listed[2])):
        assert clone in fetched and "_row" not in vars(clone)

    def seen(*_: Any) -> None:
        pass

    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert repo.list(JobFilter(limit=0)) == fetched
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_counts(repo: JobRepository) -> None:
    _seed_for_listing(repo)
    assert repo.counts_by_status() == {
        JobStatus.PENDING: 22,
        JobStatus.RUNNING: 0,
        JobStatus.COMPLETED: 0,
        JobStatus.FAILED: 8,
        JobStatus.CANCELLED: 0,
    }
    assert repo.counts_by_status("analytics-sync")[JobStatus.PENDING] == 10 - 3
    repo.claim("job-01", "w", T0)
    assert repo.count_active_for_org("acme") == 20 - 5
    assert repo.count_active_for_org("globex") == 10 - 3
    assert repo.count_active_for_org("nobody") == 0


def test_org_limit_holds_under_concurrent_enqueues(repo: JobRepository) -> None:
    limit, threads, per_thread = 20, 8, 5
    outcomes: list[Any] = []
    barrier = threading.Barrier(threads)

    def enqueue(n: int) -> None:
        barrier.wait()
        for k in range(per_thread):
            try:
                outcomes.append(repo.insert_many([new_job(f"t{n}-{k}")], T0, org_limit=limit))
            except TooManyJobsError as exc:
                outcomes.append(exc)

    workers = [threading.Thread(target=enqueue, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert sum(1 for o in outcomes if o == [True]) == limit
    assert sum(1 for o in outcomes if isinstance(o, TooManyJobsError)) == threads * per_thread - limit
    assert repo.count_active_for_org("acme") == limit
    # Re-enqueueing an existing id is not a new job: no limit error, just "not inserted".
    existing = repo.list(JobFilter(organization_id="acme", limit=1))[0].id
    assert repo.insert_many([new_job(existing)], T0, org_limit=limit) == [False]
    with pytest.raises(TooManyJobsError):
        repo.insert_many([new_job("one-more")], T0, org_limit=limit)
    assert repo.insert_many([new_job("other-org", organization_id="globex")], T0, org_limit=limit) == [True]


def test_list_uses_indexes(repo: JobRepository, engine: Engine) -> None:
    """EXPLAIN the statement list() really sends: an index range scan, no sort step."""
    from sqlalchemy import event

    for batch in range(30):  # 3000 jobs over 30 minutes
        jobs = [new_job(f"x{batch:02d}{i:03d}") for i in range(100)]
        repo.insert_many(jobs, T0 + timedelta(minutes=batch))
    with engine.begin() as conn:  # realistic mix: almost everything finished, a few failures
        conn.exec_driver_sql("UPDATE jobs SET status = 'COMPLETED'")
        conn.execute(text("UPDATE jobs SET status = 'FAILED' WHERE id LIKE :pattern"), {"pattern": "%7"})
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE jobs")
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        cursor = (T0 + timedelta(minutes=20), "x20050")
        page = repo.list(JobFilter(statuses=(JobStatus.FAILED,), limit=20, before=cursor))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert [j.id for j in page][:3] == ["x20047", "x20037", "x20027"]
    statement, parameters = next((st, pa) for st, pa in sent if "ORDER BY" in st)
    explain = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(explain + statement, parameters)
        plan = "\n".join(
            str(row[-1] if engine.dialect.name == "sqlite" else row[0]) for row in cursor.fetchall()
        )
    finally:
        raw.close()
    assert "ix_jobs_status_created_at" in plan, plan
    assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


def test_engine_begin_is_a_real_transaction(engine: Engine, repo: JobRepository) -> None:
    """The store drives BEGIN itself (driver autocommit): engine.begin() must still roll back."""
    repo.insert(new_job("j"), T0)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET worker = 'x'"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('rolled-back')"))
        raise RuntimeError("abort")
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [HEAD_REVISION]
    job = repo.get("j")
    assert job is not None and job.worker is None
    # An isolation level set through SQLAlchemy turns the driver's autocommit off; the
    # connection must come back to the pool in autocommit mode, or later single-statement
    # writes would be rolled back at check-in.
    with engine.connect().execution_options(isolation_level="SERIALIZABLE") as conn, conn.begin():
        conn.execute(text("UPDATE jobs SET worker = 'serializable'"))
    job = repo.get("j")
    assert job is not None and job.worker == "serializable"
    for n in range(12):  # whichever pooled connection each one gets, it must commit
        assert repo.insert(new_job(f"after-{n}"), T0) is True
    assert len(repo.get_many([f"after-{n}" for n in range(12)])) == 12


def test_bulk_and_single_inserts_store_comparable_rows(repo: JobRepository) -> None:
    """insert() goes through Core, insert_many() through unnest/json_each: same stored forms."""
    repo.insert(new_job("single", organization_id=None), T0)
    later = T0 + timedelta(seconds=1)
    jobs = [new_job(f"bulk-{i}", organization_id=None, payload={"i": i, "s": "é"}) for i in range(3)]
    assert repo.insert_many(jobs, later) == [True, True, True]
    assert [j.id for j in repo.list(JobFilter(since=T0 + timedelta(milliseconds=1)))] == [
        "bulk-2",
        "bulk-1",
        "bulk-0",
    ]
    assert [j.id for j in repo.list(JobFilter(before=(later, "bulk-0")))] == ["single"]
    bulk = repo.get("bulk-1")
    assert bulk is not None
    assert (bulk.payload, bulk.organization_id, bulk.created_at, bulk.scheduled_for) == (
        {"i": 1, "s": "é"},
        None,
        later,
        None,
    )
    assert repo.insert_many([new_job("single"), new_job("bulk-0")], T0) == [False, False]


def test_org_limit_counts_the_whole_batch(repo: JobRepository) -> None:
    repo.insert_many([new_job(f"a{i}") for i in range(3)], T0, org_limit=5)
    with pytest.raises(TooManyJobsError):
        repo.insert_many([new_job(f"b{i}") for i in range(3)], T0, org_limit=5)
    assert repo.count_active_for_org("acme") == 3  # all or nothing
    assert repo.insert_many([new_job("a0"), new_job("b0"), new_job("b1")], T0, org_limit=5) == [
        False,
        True,
        True,
    ]


def test_database_at_0003_upgrades_to_job_attempts(db_url: str) -> None:
    """An existing database at 0003, with a job in it, gains the newer tables and keeps its rows."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect, text

    from jobctl.store.engine import MIGRATIONS_DIR

    eng = create_store_engine(db_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with eng.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0003_jobs_finished_index")
            conn.execute(
                text(
                    "INSERT INTO jobs (id, type, queue, status, payload, attempts, max_attempts,"
                    " created_at, updated_at) VALUES ('old', 'ping', 'q', 'COMPLETED', '{}', 1, 4,"
                    " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        assert "job_attempts" not in inspect(eng).get_table_names()
        assert upgrade_schema(eng) == ("0003_jobs_finished_index", HEAD_REVISION)
        assert HEAD_REVISION == "0013_retention_indexes"
        tables = set(inspect(eng).get_table_names())
        expected = {"job_attempts", "context_items", "organizations", "content_items", "image_assets"}
        expected |= {"audit_log", "brand_learnings", "post_analytics"}
        assert expected <= tables
        with eng.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 1
    finally:
        eng.dispose()
