"""The dashboard's read models and actions (jobctl.api.dashboard) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from rq.registry import FailedJobRegistry
from top_support import NOW, SCRAPING, ago, make_api

from jobctl.api import JobctlAPI
from jobctl.api.dashboard import Action, Dashboard, FailedGroupKey, JobSearch, parse_filter, queue_rows
from jobctl.domain.errors import InvalidInputError, InvalidTransitionError, JobNotFoundError
from jobctl.domain.status import JobStatus


@pytest.fixture
def dash(db_url: str, redis_url: str, tmp_path: Path) -> Iterator[Dashboard]:
    api = make_api(db_url, redis_url, tmp_path)
    yield Dashboard(api, clock=lambda: NOW)
    api.close()


def ids(dash: Dashboard, text: str, **kw: object) -> list[str]:
    return [r.id for r in dash.jobs_page(parse_filter(text, NOW), limit=50, **kw).rows]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stauts:failed", "unknown filter key 'stauts'"),
        ("status:finished", "unknown status 'finished'"),
        ("status:", "status: needs a value"),
        ('error:"open', "unclosed quote"),
        ("since:soon", "neither a duration"),
        ("!", "'!' must be followed"),
    ],
)
def test_bad_filters_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_filter(text, NOW)


def test_filters_match_as_documented(dash: Dashboard) -> None:
    assert ids(dash, "status:failed,running") == ["run-0", "fail-bad", "fail-1", "fail-0"]
    assert ids(dash, "!status:completed !status:pending org:acme") == ["run-0", "fail-0"]
    assert ids(dash, "!org:acme status:failed") == ["fail-bad", "fail-1"]  # jobs without an org too
    assert ids(dash, "class:PayloadValidationError") == ["fail-bad"]
    assert ids(dash, 'error:"on purpose" !globex') == ["fail-0"]
    assert ids(dash, "id:FAIL-") == []  # ids are case-sensitive on both backends
    assert ids(dash, "id:fail-b,run") == ["run-0", "fail-bad"]
    assert ids(dash, "worker:worker-a since:1m") == ["run-0"]
    assert ids(dash, "https://example.com") == []  # free text, not an unknown key
    assert ids(dash, "type:PING queue:analytics-sync") == ["wait-analytics", "fail-bad"]


def test_keyset_pages_in_both_directions(dash: Dashboard) -> None:
    search = parse_filter("", NOW)
    first = dash.jobs_page(search, limit=5)
    second = dash.jobs_page(search, limit=5, after=first.rows[-1].cursor)
    assert first.has_more and {r.id for r in first.rows}.isdisjoint(r.id for r in second.rows)
    oldest = dash.jobs_page(search, limit=3, newest_first=False)
    assert [r.id for r in oldest.rows] == ["done-4", "fail-0", "done-3"]


def test_overview_joins_redis_counts_and_sql_history(dash: Dashboard) -> None:
    activity = dash.queue_activity()
    recent = dash.recent_activity(NOW - timedelta(hours=24))
    assert recent.new_failures == 3
    assert dash.recent_activity(ago(minutes=7)).new_failures == 1  # fail-bad (finished 6 min ago)
    rows = {r.name: r for r in queue_rows(list(dash.api.settings.queues), activity, recent, NOW)}
    scraping, analytics = rows[SCRAPING], rows["analytics-sync"]
    assert (scraping.queued, scraping.failed, scraping.completed_1h, scraping.failed_1h) == (3, 2, 5, 2)
    assert scraping.workers == 1 and not scraping.unattended
    assert analytics.workers == 0 and analytics.unattended  # its only worker is stale
    assert sum(scraping.throughput) == 5 and len(scraping.throughput) == 15  # 4 done + fail-1
    assert [w.name for w in activity.workers if w.stale] == ["worker-gone"]
    partial = queue_rows(list(dash.api.settings.queues), None, recent, NOW)  # Redis down
    assert {r.name: r.queued for r in partial}[SCRAPING] is None


def test_failed_groups_and_group_actions(dash: Dashboard) -> None:
    groups = dash.failed_groups()
    assert [(g.key.error_type, g.count) for g in groups] == [
        ("JobProcessingError", 2),
        ("PayloadValidationError", 1),
    ]
    assert groups[0].first_seen == ago(minutes=20) + timedelta(seconds=3)
    key = FailedGroupKey("ping", "JobProcessingError", "ping failed on purpose (attempt 4)")
    search = Action.RETRY.narrowed(JobSearch(group=key))
    assert dash.count(search) == 2
    report = dash.bulk(Action.RETRY, dash.matching_ids(search), audit={"description": "failed group"})
    assert report.done == 2 and not report.skipped
    assert [g.key.error_type for g in dash.failed_groups()] == ["PayloadValidationError"]
    from jobctl.api.bulk import BulkAPI  # a bulk action from the dashboard is audited too

    [entry] = BulkAPI(dash.api).audit_log()
    assert (entry.action, entry.count, entry.filter) == ("jobs.retry", 2, {"description": "failed group"})
    assert entry.detail is not None and entry.detail["via"] == "top"


def test_bulk_skips_what_changed_and_reports_it(dash: Dashboard) -> None:
    report = dash.bulk(Action.CANCEL, ["wait-0", "done-0", "nope"])
    assert report.done == 1 and [i for i, _ in report.skipped] == ["done-0", "nope"]
    assert "cancelled 1 job(s), skipped 2" in report.summary()


def test_delete_job_removes_row_and_rq_entry(dash: Dashboard) -> None:
    api: JobctlAPI = dash.api
    assert api.delete_job("fail-0") is JobStatus.FAILED
    with pytest.raises(JobNotFoundError):
        api.get_job("fail-0")
    assert "fail-0" not in FailedJobRegistry(SCRAPING, connection=api.backends.redis)
    with pytest.raises(InvalidTransitionError, match="cancel it before deleting"):
        api.delete_job("wait-0")
    with pytest.raises(JobNotFoundError):
        api.delete_job("fail-0")
