"""Pure domain: payload contracts, statuses, retry policy, ids, durations, redaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobctl.domain.errors import InvalidInputError, PayloadValidationError, UnknownQueueError
from jobctl.domain.job_types import BUILTIN_JOB_TYPES, check_job_id, resolve_queue
from jobctl.domain.queues import DEFAULT_QUEUES
from jobctl.domain.redaction import mask_url, redact
from jobctl.domain.retry import RetryPolicy, parse_intervals
from jobctl.domain.status import JobStatus, can_transition, parse_status
from jobctl.domain.timeparse import parse_duration, parse_when

VALID = {
    "generate-content": {"organization_id": "acme", "topic": "t", "platforms": ["twitter"]},
    "generate-image": {"organization_id": "acme", "prompt": "p"},
    "scrape-website": {"organization_id": "acme", "url": "https://example.com/"},
    "sync-rss": {"organization_id": "acme", "source_id": "s1"},
    "process-document": {"organization_id": "acme", "path": "/tmp/a.pdf"},
    "sync-analytics": {"organization_id": "acme"},
    "refresh-token": {"social_account_id": "a1"},
    "publish-content": {"content_item_id": "c1", "social_account_id": "a1"},
    "ping": {},
}


def test_every_type_has_a_contract_and_a_route() -> None:
    assert set(VALID) == set(BUILTIN_JOB_TYPES)
    routes = {name: spec.queue for name, spec in BUILTIN_JOB_TYPES.items()}
    assert routes["generate-content"] == routes["generate-image"] == "content-generation"
    assert routes["scrape-website"] == routes["sync-rss"] == routes["process-document"] == "context-scraping"
    assert (
        routes["sync-analytics"] == routes["refresh-token"] == routes["publish-content"] == "analytics-sync"
    )
    assert routes["ping"] is None
    assert [(q.concurrency, q.lock_seconds) for q in DEFAULT_QUEUES.values()] == [
        (10, 300),
        (30, 120),
        (60, 180),
    ]


@pytest.mark.parametrize("job_type", sorted(VALID))
def test_valid_payloads_pass_and_are_normalised(job_type: str) -> None:
    out = BUILTIN_JOB_TYPES[job_type].validate(VALID[job_type])
    assert out  # defaults are filled in
    if job_type == "generate-content":
        assert out["variations_per_platform"] == 1
    if job_type == "scrape-website":
        assert out["max_pages"] == 1
    if job_type == "generate-image":
        assert out["size"] == "1024x1024"


@pytest.mark.parametrize(
    ("job_type", "payload", "path"),
    [
        ("generate-content", {"organization_id": "a", "topic": "", "platforms": ["twitter"]}, "topic"),
        ("generate-content", {"organization_id": "a", "topic": "x" * 501, "platforms": ["twitter"]}, "topic"),
        ("generate-content", {"organization_id": "a", "topic": "t", "platforms": []}, "platforms"),
        (
            "generate-content",
            {"organization_id": "a", "topic": "t", "platforms": ["myspace"]},
            "platforms[0]",
        ),
        (
            "generate-content",
            {"organization_id": "a", "topic": "t", "platforms": ["x"], "variations_per_platform": 6},
            None,
        ),
        ("generate-content", {"topic": "t", "platforms": ["twitter"]}, "organization_id"),
        ("scrape-website", {"organization_id": "a"}, ""),
        ("scrape-website", {"organization_id": "a", "url": "ftp://x/"}, "url"),
        ("scrape-website", {"organization_id": "a", "url": "https://u:pw@x/"}, "url"),
        ("scrape-website", {"organization_id": "a", "url": "https://x/", "max_pages": 51}, "max_pages"),
        ("sync-rss", {"organization_id": "a", "source_id": "s", "feed_url": "https://x/f"}, ""),
        ("process-document", {"organization_id": "a", "path": "/a", "mime_type": "nope"}, "mime_type"),
        ("refresh-token", {"social_account_id": "a", "extra": 1}, "extra"),
        ("ping", {"sleep_s": 301}, "sleep_s"),
        ("generate-image", {"organization_id": "a", "prompt": "p", "size": "big"}, "size"),
    ],
)
def test_invalid_payloads_name_the_field(job_type: str, payload: dict[str, object], path: str | None) -> None:
    with pytest.raises(PayloadValidationError) as info:
        BUILTIN_JOB_TYPES[job_type].validate(payload)
    paths = [p for p, _ in info.value.errors]
    if path is not None:
        assert path in paths
    assert job_type in info.value.message
    assert "pw" not in info.value.message


def test_csv_lists_from_the_cli() -> None:
    out = BUILTIN_JOB_TYPES["generate-content"].validate(
        {"organization_id": "a", "topic": "t", "platforms": "twitter, linkedin"}
    )
    assert out["platforms"] == ["twitter", "linkedin"]


def test_transitions() -> None:
    assert can_transition(JobStatus.PENDING, JobStatus.RUNNING)
    assert can_transition(JobStatus.RUNNING, JobStatus.PENDING)  # retry
    assert can_transition(JobStatus.FAILED, JobStatus.PENDING)  # operator retry
    assert not can_transition(JobStatus.COMPLETED, JobStatus.PENDING)
    assert not can_transition(JobStatus.PENDING, JobStatus.COMPLETED)
    assert parse_status("failed") is JobStatus.FAILED
    with pytest.raises(ValueError, match="one of"):
        parse_status("done")


def test_retry_policy() -> None:
    p = RetryPolicy()
    assert p.max_attempts == 4
    assert [p.delay_after(a) for a in (1, 2, 3, 4)] == [60, 300, 900, None]
    assert parse_intervals("1, 2,3") == (1, 2, 3)
    with pytest.raises(ValueError):
        parse_intervals("1,x")


def test_job_ids_are_checked_like_rq_does() -> None:
    assert check_job_id("sync-rss-42-1764300000") == "sync-rss-42-1764300000"
    for bad in ("a b", "a/b", "a:b", "", "x" * 129, "ü"):
        with pytest.raises(InvalidInputError):
            check_job_id(bad)


def test_queue_resolution() -> None:
    ping = BUILTIN_JOB_TYPES["ping"]
    with pytest.raises(InvalidInputError, match="--queue"):
        resolve_queue(ping, None, DEFAULT_QUEUES)
    with pytest.raises(UnknownQueueError):
        resolve_queue(ping, "nope", DEFAULT_QUEUES)
    assert resolve_queue(BUILTIN_JOB_TYPES["sync-rss"], None, DEFAULT_QUEUES) == "context-scraping"


def test_durations_and_times() -> None:
    assert parse_duration("10m") == timedelta(minutes=10)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("45") == timedelta(seconds=45)
    for bad in ("", "10x", "m10", "1h 30m"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert parse_when("2026-12-01T09:30:00Z") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert parse_when("2026-12-01T10:30:00+01:00") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_when("tomorrow")


def test_redaction() -> None:
    assert mask_url("postgresql+psycopg://app:s3cret@db:5432/x") == "postgresql+psycopg://app:***@db:5432/x"
    assert mask_url("redis://:hunter2@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    text = "failed: redis://:hunter2@h:1/0 and https://x/?access_token=abc123&y=1"
    out = redact(text)
    assert "hunter2" not in out and "abc123" not in out and "y=1" in out
    assert redact("token is XYZ-SECRET-1", secrets=("XYZ-SECRET-1",)) == "token is ***"


def test_retry_delay_within_the_current_budget() -> None:
    p = RetryPolicy()
    assert [p.delay_for(a, 4) for a in (1, 2, 3, 4)] == [60, 300, 900, None]
    # after an operator's retry the budget grows by a whole policy: intervals start over
    assert [p.delay_for(a, 8) for a in (5, 6, 7, 8)] == [60, 300, 900, None]
    assert p.delay_for(1, 5) == 60  # a hand-back gave one attempt back
    assert RetryPolicy(()).delay_for(1, 2) == 0
