"""The slots' claims batched (jobctl.worker.claimer): the same rows and attempt records as one
claim_row() each, fewer statements. Real databases, both backends; real threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from jobctl.api import JobctlAPI
from jobctl.domain.status import JobStatus
from jobctl.worker.claimer import Claimer

Q = "analytics-sync"


def test_claim_rows_claims_what_is_pending_and_starts_its_attempt(api: JobctlAPI) -> None:
    repo = api.backends.repo
    ids = [api.enqueue_job("ping", {}, queue=Q).id for _ in range(3)]
    assert repo.claim_row(ids[2], "other", datetime.now(UTC)) is not None  # RUNNING already
    at = datetime.now(UTC)
    rows = repo.claim_rows([(ids[0], at), (ids[1], at), (ids[2], at), ("no-such-job", at)], "w1")
    assert sorted(rows) == sorted(ids[:2])
    for job_id in ids[:2]:
        row = rows[job_id]
        assert row.status == JobStatus.RUNNING and row.attempts == 1 and row.worker == "w1"
        assert row.started_at is not None and abs((row.started_at - at).total_seconds()) < 0.001
        assert row.payload == api.get_job(job_id).payload and row.type == "ping"  # the whole record
        assert [(a.attempt, a.worker, a.outcome) for a in repo.attempts(job_id)] == [(1, "w1", None)]
    assert api.get_job(ids[2]).worker == "other"
    assert repo.claim_rows([(ids[0], at)], "w1") == {}  # RUNNING: not claimed twice
    assert repo.claim_rows([], "w1") == {}


def test_slots_claiming_together_share_statements(api: JobctlAPI) -> None:
    repo = api.backends.repo
    ids = [api.enqueue_job("ping", {}, queue=Q).id for _ in range(40)]
    claimer = Claimer(repo, "w2")
    got: dict[str, object] = {}
    start = threading.Barrier(41)

    def slot(job_id: str) -> None:
        start.wait()
        got[job_id] = claimer.claim(job_id, datetime.now(UTC))

    # Every job asked for by one slot, and the first asked for by a second slot too (RQ
    # delivering a job twice): only one of the two may run it.
    threads = [threading.Thread(target=slot, args=(j,)) for j in ids]
    twice: list[object] = []

    def again() -> None:
        start.wait()
        twice.append(claimer.claim(ids[0], datetime.now(UTC)))

    threads.append(threading.Thread(target=again))
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    claimed = [j for j in ids if got.get(j) is not None] + [ids[0] for r in twice if r is not None]
    assert sorted(claimed) == sorted(ids)  # each job claimed exactly once
    assert claimer.batches < 41
    assert {api.get_job(j).status for j in ids} == {JobStatus.RUNNING}
    assert all(len(repo.attempts(j)) == 1 for j in ids)
    assert claimer.claim("no-such-job", datetime.now(UTC)) is None
