"""The attempt timeline in the store, on SQLite and PostgreSQL: every claim starts an attempt
record, every finish (the execution's, the sweep's, a cancel's) ends it in the same
transaction as the row's fenced update, and a late result never rewrites a newer attempt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from jobctl.domain.attempts import AttemptOutcome as O
from jobctl.domain.records import JobError, NewJob
from jobctl.store.jobs_repo import JobRepository
from jobctl.store.reader import open_reader

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
ERR = JobError(type="ValueError", message="boom\nsecond line", traceback="Traceback ...")


def new_job(job_id: str) -> NewJob:
    return NewJob(
        id=job_id, type="ping", queue="analytics-sync", organization_id="acme", payload={}, max_attempts=4
    )


@pytest.fixture
def repo(engine: Engine) -> JobRepository:
    return JobRepository(engine)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def timeline(repo: JobRepository, job_id: str) -> list[tuple[Any, ...]]:
    return [(a.attempt, a.worker, a.outcome, a.duration_ms) for a in repo.attempts(job_id)]


def test_fail_once_then_succeed(repo: JobRepository) -> None:
    repo.insert(new_job("j"), T0)
    assert repo.claim_row("j", "w1", at(1)) is not None
    (running,) = repo.attempts("j")
    assert (running.attempt, running.worker, running.started_at, running.outcome) == (1, "w1", at(1), None)
    assert running.running and running.finished_at is None and running.duration_ms is None
    assert repo.schedule_retry("j", 1, ERR, at(60), at(3.5)) is True
    assert repo.claim("j", "w2", at(60)) == 2
    assert repo.complete("j", 2, {"ok": True}, at(60.25)) is True
    first, second = repo.attempts("j")
    assert (first.outcome, first.finished_at, first.duration_ms, first.error) == (
        O.RETRY_SCHEDULED,
        at(3.5),
        2500.0,
        ERR,
    )
    assert first.error_line == "ValueError: boom"
    assert (second.attempt, second.worker, second.outcome, second.duration_ms, second.error) == (
        2, "w2", O.COMPLETED, 250.0, None,
    )  # fmt: skip
    assert second.to_json()["outcome"] == "completed" and first.to_json()["error"]["message"] == ERR.message
    assert repo.attempts("missing") == []


def test_every_way_an_attempt_ends(repo: JobRepository) -> None:
    repo.insert_many([new_job(i) for i in ("failed", "lost", "hung", "back", "cancelled", "pending")], T0)
    for job_id in ("failed", "lost", "hung", "back", "cancelled"):
        repo.claim(job_id, "w", T0)
    assert repo.fail("failed", 1, ERR, at(1))
    assert repo.schedule_retry("lost", 1, ERR, at(1), at(2), outcome=O.LOST)
    assert repo.fail("hung", 1, ERR, at(3), outcome=O.HUNG)
    assert repo.release("back", 1, at(4))
    assert repo.cancel("cancelled", at(5)) is not None
    assert repo.cancel("pending", at(5)) is not None  # never ran: no attempt to end
    assert timeline(repo, "failed") == [(1, "w", O.FAILED, 1000.0)]
    assert timeline(repo, "lost") == [(1, "w", O.LOST, 2000.0)]
    assert timeline(repo, "hung") == [(1, "w", O.HUNG, 3000.0)]
    assert timeline(repo, "back") == [(1, "w", O.HANDED_BACK, 4000.0)]
    assert timeline(repo, "cancelled") == [(1, "w", O.CANCELLED, 5000.0)]
    assert repo.attempts("pending") == []
    assert repo.attempts("back")[0].error is None


def test_a_late_finish_changes_only_its_own_attempt(repo: JobRepository) -> None:
    repo.insert_many([new_job("j"), new_job("c")], T0)
    repo.claim("j", "w1", T0)
    assert repo.schedule_retry("j", 1, ERR, at(10), at(10), outcome=O.HUNG)  # the sweep gave up on it
    repo.claim("j", "w2", at(11))
    assert repo.complete("j", 1, "late", at(20)) is False  # the fence: attempt 2 owns the row
    assert timeline(repo, "j") == [(1, "w1", O.HUNG, 10000.0), (2, "w2", None, None)]
    assert repo.reject_late_finish("j", 1, at(20)) is True
    assert repo.reject_late_finish("j", 2, at(20)) is False  # attempt 2 is running, not given up on
    first, second = repo.attempts("j")
    assert (first.outcome, first.duration_ms, first.finished_at) == (O.LATE_FINISH_REJECTED, 20000.0, at(20))
    assert first.error is not None and first.error.type == "ValueError"  # why it was given up on stays
    assert second.outcome is None
    # A cancelled attempt stays cancelled when its execution returns after all.
    repo.claim("c", "w1", T0)
    repo.cancel("c", at(1))
    assert repo.complete("c", 1, "late", at(2)) is False
    assert repo.reject_late_finish("c", 1, at(2)) is False
    assert timeline(repo, "c") == [(1, "w1", O.CANCELLED, 1000.0)]


def test_fence_failures_write_no_attempt(repo: JobRepository) -> None:
    repo.insert(new_job("j"), T0)
    assert repo.claim("j", "w1", T0) == 1
    assert repo.claim("j", "w2", T0) is None  # not PENDING: no second attempt row
    assert repo.complete("j", 2, None, at(1)) is False  # no such attempt
    assert timeline(repo, "j") == [(1, "w1", None, None)]


def test_deleted_job_takes_its_timeline_and_its_id_starts_afresh(repo: JobRepository) -> None:
    repo.insert(new_job("j"), T0)
    repo.claim("j", "w1", T0)
    repo.complete("j", 1, None, at(1))
    assert repo.delete("j") is not None
    assert repo.attempts("j") == []
    repo.insert(new_job("j"), at(2))
    repo.claim("j", "w2", at(3))
    assert timeline(repo, "j") == [(1, "w2", None, None)]


def test_claim_and_finish_stay_one_statement_on_postgresql(repo: JobRepository, engine: Engine) -> None:
    """The hot path: on PostgreSQL the attempt write rides in the claim's and the finish's own
    statement (one round trip each); on SQLite in one BEGIN IMMEDIATE ... COMMIT."""
    repo.insert(new_job("j"), T0)
    sent: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement.split(maxsplit=1)[0].upper())

    event.listen(engine, "before_cursor_execute", capture)
    try:
        repo.claim_row("j", "w", T0)
        repo.complete("j", 1, None, at(1))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    if engine.dialect.name == "postgresql":
        assert sent == ["WITH", "WITH"], sent
    else:  # BEGIN IMMEDIATE, two statements, COMMIT (not a cursor execution)
        assert sent == ["BEGIN", "UPDATE", "INSERT", "BEGIN", "UPDATE", "UPDATE"], sent
    assert timeline(repo, "j") == [(1, "w", O.COMPLETED, 1000.0)]


def test_the_driver_path_writes_what_the_observed_path_writes(repo: JobRepository) -> None:
    """Without listeners, statements run on the raw driver (jobctl.store.driver): same records."""
    repo.insert(new_job("j"), T0)
    repo.claim_row("j", "w", T0)
    repo.schedule_retry("j", 1, ERR, at(5), at(0.5))
    repo.claim_row("j", "w", at(5))
    repo.complete("j", 2, None, at(5.1))
    assert timeline(repo, "j") == [(1, "w", O.RETRY_SCHEDULED, 500.0), (2, "w", O.COMPLETED, 100.0)]


def test_reader_returns_the_same_timeline(repo: JobRepository, db_url: str, engine: Engine) -> None:
    repo.insert(new_job("j"), T0)
    repo.claim("j", "w1", T0)
    repo.fail("j", 1, ERR, at(1), outcome=O.LOST)
    with engine.begin() as conn:  # a value from a newer jobctl is shown, not refused
        conn.execute(text("UPDATE job_attempts SET outcome = 'teleported' WHERE attempt = 1"))
    reader = open_reader(db_url)
    assert reader is not None
    try:
        assert reader.attempts("j") == repo.attempts("j")
        assert reader.attempts("j")[0].outcome == "teleported"
        assert reader.attempts("missing") == []
    finally:
        reader.close()


def test_a_deferral_gives_its_attempt_back_and_is_fenced(repo: JobRepository) -> None:
    """DEFER: PENDING until the time given, the attempt ends `deferred` with why, max_attempts
    grows by one (the budget max_attempts - attempts stays), counted by deferrals()."""
    repo.insert(new_job("d"), T0)
    wait = JobError(type="JobDeferredError", message="deferred 120s: HTTP 429")
    assert repo.claim("d", "w1", at(1)) == 1
    assert repo.defer("d", 1, wait, at(121), at(1.5)) is True
    row = repo.get("d")
    assert row is not None and row.status.value == "PENDING" and row.next_attempt_at == at(121)
    assert (row.attempts, row.max_attempts, row.worker, row.error) == (1, 5, None, wait)
    (first,) = repo.attempts("d")
    assert (first.outcome, first.error, first.duration_ms) == (O.DEFERRED, wait, 500.0)
    assert repo.deferrals("d") == 1 and repo.deferrals("unknown") == 0
    assert repo.defer("d", 1, wait, at(200), at(2)) is False  # not RUNNING: fenced off
    assert repo.claim("d", "w2", at(121)) == 2
    assert repo.defer("d", 1, wait, at(300), at(122)) is False  # a stale execution: fenced off
    assert repo.complete("d", 2, {"ok": True}, at(122)) is True
    row = repo.get("d")
    assert row is not None and (row.attempts, row.max_attempts, row.error) == (2, 5, None)
    assert [a.outcome for a in repo.attempts("d")] == [O.DEFERRED, O.COMPLETED]
