"""`jobctl top` driven by Textual's Pilot on real Redis and SQLite: navigation, filtering,
paging, every action through its confirmation down to the store, read-only mode."""

from __future__ import annotations

from typing import Any

import pytest
from rq.registry import FailedJobRegistry
from top_support import SCRAPING, Scenario, add_pending, ago, run_top, settle, type_text, until

from jobctl.api import JobctlAPI
from jobctl.domain.errors import JobNotFoundError
from jobctl.domain.status import JobStatus
from jobctl.queue.rq_job import cancel_key
from jobctl.tui.app import TopApp
from jobctl.tui.detail.job_detail_screen import JobDetailScreen
from jobctl.tui.jobs.jobs_table import JobsTable
from jobctl.tui.modals.confirm_screen import ConfirmScreen
from jobctl.tui.modals.help_screen import HelpScreen


def run(
    api: JobctlAPI, scenario: Scenario, *, readonly: bool = False, size: tuple[int, int] = (100, 30)
) -> None:
    run_top(api, scenario, readonly=readonly, size=size)


def table_ids(app: TopApp) -> list[str]:
    return app.jobs_view.query_one(JobsTable).keys()


async def command(pilot: Any, text: str) -> None:
    await pilot.press("colon")
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(pilot, polls=0)


async def filter_jobs(pilot: Any, text: str) -> None:
    await pilot.press("slash", "ctrl+u")
    await type_text(pilot, text)
    await pilot.press("enter")
    await settle(pilot, polls=0)


async def confirm(pilot: Any, answer: str, title: str) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
    screen = pilot.app.screen
    assert isinstance(screen, ConfirmScreen), "no confirmation asked"
    assert screen.title_text == title
    await pilot.press(answer)
    await until(
        pilot, lambda: pilot.app.action_running is None and not isinstance(pilot.app.screen, ConfirmScreen)
    )
    await settle(pilot, polls=0)


def test_navigation_views_help_detail(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        assert app.view == "queues" and app.activity is not None
        assert {w.name for w in app.activity.workers if w.stale} == {"worker-gone"}
        await command(pilot, "jobs")
        assert app.view == "jobs" and table_ids(app)[:2] == ["run-0", "wait-2"]  # newest first
        await command(pilot, "failed")
        assert app.view == "failed" and app.groups is not None
        assert next((g.key.type, g.key.error_type, g.count) for g in app.groups) == (
            "ping",
            "JobProcessingError",
            2,
        )
        await command(pilot, "workers")
        assert app.view == "workers"
        await pilot.press("escape")  # back to the previous view
        assert app.view == "failed"
        await command(pilot, "nonsense")
        assert app.prompt.display and "unknown view" in str(app.prompt.border_title)
        await pilot.press("escape")
        assert not app.prompt.display
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("Z")  # freeze: no timer re-arms until Z again
        assert app.frozen and "FROZEN" in str(app.top_bar.query_one("#state").render())
        await pilot.press("Z")
        assert not app.frozen
        await command(pilot, "jobs")
        await pilot.press("enter")  # the current row: run-0
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.record is not None)
        detail = app.screen
        assert isinstance(detail, JobDetailScreen) and detail.record is not None
        assert detail.record.id == "run-0" and detail.record.status is JobStatus.RUNNING
        await pilot.press("y")
        assert detail.raw
        await pilot.press("escape")
        assert app.view == "jobs" and not isinstance(app.screen, JobDetailScreen)
        await pilot.press("q")
        assert not app.is_running or app._exit

    run(top_api, scenario)


def test_filter_language_and_errors(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        await filter_jobs(pilot, "status:failed")
        assert app.view == "jobs" and table_ids(app) == ["fail-bad", "fail-1", "fail-0"]
        await filter_jobs(pilot, "status:failed !org:acme")
        assert table_ids(app) == ["fail-bad", "fail-1"]
        await filter_jobs(pilot, "error:payload")
        assert table_ids(app) == ["fail-bad"]
        await filter_jobs(pilot, "id:done- since:10m")
        assert table_ids(app) == ["done-0", "done-2", "done-1"]  # same created_at: id DESC
        await filter_jobs(pilot, "globex")  # free text
        assert set(table_ids(app)) == {"wait-analytics", "fail-1"}
        await filter_jobs(pilot, "stauts:failed")
        assert app.prompt.display and "unknown filter key 'stauts'" in str(app.prompt.border_title)
        assert set(table_ids(app)) == {"wait-analytics", "fail-1"}  # the last good filter stays
        await pilot.press("escape")
        await command(pilot, "jobs status:running")
        assert table_ids(app) == ["run-0"]

    run(top_api, scenario)


def test_paging_and_sort_never_load_more_than_a_page(top_api: JobctlAPI) -> None:
    for i in range(230):
        add_pending(top_api, f"bulk-{i:03d}", SCRAPING, ago(hours=2, seconds=i))

    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        await filter_jobs(pilot, "id:bulk-")
        first = table_ids(app)
        assert len(first) == 100 and first[0] == "bulk-000"
        await pilot.press("right_square_bracket")
        await settle(pilot, polls=0)
        assert table_ids(app)[0] == "bulk-100" and app.jobs_view.has_more
        await pilot.press("right_square_bracket")
        await settle(pilot, polls=0)
        assert table_ids(app)[-1] == "bulk-229" and not app.jobs_view.has_more
        await pilot.press("left_square_bracket", "left_square_bracket")
        await settle(pilot, polls=0)
        assert table_ids(app) == first
        await pilot.press("s")  # oldest first
        await settle(pilot, polls=0)
        assert table_ids(app)[0] == "bulk-229"

    run(top_api, scenario)


def test_retry_current_row_after_confirmation(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        await filter_jobs(pilot, "id:fail-0")
        await pilot.press("r")
        await confirm(pilot, "y", "Retry 1 job?")

    run(top_api, scenario)
    row = top_api.get_job("fail-0")
    assert row.status is JobStatus.PENDING and row.max_attempts == 5 and row.error is None
    assert "fail-0" not in FailedJobRegistry(SCRAPING, connection=top_api.backends.redis)


def test_cancel_marked_rows_stops_the_running_one(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        await filter_jobs(pilot, "status:pending,running org:acme")
        assert table_ids(pilot.app) == ["run-0", "wait-2", "wait-1", "wait-0"]
        await pilot.press("space", "space")  # marks run-0 and wait-2 (the cursor moves down)
        await pilot.press("c")
        await confirm(pilot, "y", "Cancel 2 jobs?")
        assert not pilot.app.jobs_view.marks

    run(top_api, scenario)
    assert top_api.get_job("run-0").status is JobStatus.CANCELLED
    assert top_api.backends.redis.exists(cancel_key("run-0"))  # its worker is told to stop it
    assert top_api.get_job("wait-2").status is JobStatus.CANCELLED
    assert top_api.get_job("wait-1").status is JobStatus.PENDING


def test_delete_asks_and_no_means_no(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        await filter_jobs(pilot, "id:fail-bad")
        await pilot.press("d")
        await confirm(pilot, "n", "Delete 1 job?")
        assert top_api.get_job("fail-bad").status is JobStatus.FAILED
        await pilot.press("d")
        await confirm(pilot, "y", "Delete 1 job?")
        assert table_ids(pilot.app) == []

    run(top_api, scenario)
    with pytest.raises(JobNotFoundError):
        top_api.get_job("fail-bad")
    assert "fail-bad" not in FailedJobRegistry("analytics-sync", connection=top_api.backends.redis)


def test_everything_matching_the_filter_counts_only_what_applies(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        await filter_jobs(pilot, "org:acme")
        await pilot.press("asterisk", "r")  # acme has 9 jobs, 1 of them FAILED
        await confirm(pilot, "y", "Retry 1 job?")
        await filter_jobs(pilot, "status:completed")
        await pilot.press("asterisk", "d")
        await confirm(pilot, "y", "Delete 5 jobs?")

    run(top_api, scenario)
    assert top_api.get_job("fail-0").status is JobStatus.PENDING
    assert top_api.get_job("fail-1").status is JobStatus.FAILED  # globex: not matched
    with pytest.raises(JobNotFoundError):
        top_api.get_job("done-3")


def test_failed_group_retry_and_drill_down(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        await command(pilot, "failed")
        await pilot.press("enter")  # the biggest group's jobs
        await settle(pilot, polls=0)
        assert app.view == "jobs" and table_ids(app) == ["fail-1", "fail-0"]
        await command(pilot, "failed")
        await pilot.press("r")
        await confirm(pilot, "y", "Retry 2 jobs?")
        assert app.groups is not None and [g.count for g in app.groups] == [1]

    run(top_api, scenario)
    assert {top_api.get_job(i).status for i in ("fail-0", "fail-1")} == {JobStatus.PENDING}


def test_schedules_pause_resume_trigger(top_api: JobctlAPI) -> None:
    from jobctl.api.schedules import ScheduleAPI

    schedules = ScheduleAPI(top_api)

    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        await command(pilot, "schedules")
        assert list(app.schedules_view.schedules) == ["ping-nightly", "ping-scraping"]
        await pilot.press("u")  # the cursor is on ping-nightly, paused
        await until(pilot, lambda: schedules.get("ping-nightly").enabled)
        await pilot.press("down", "p")
        await until(pilot, lambda: not schedules.get("ping-scraping").enabled)
        await pilot.press("t")
        await until(pilot, lambda: schedules.get("ping-scraping").last_job_id is not None)
        await settle(pilot, polls=0)
        await pilot.press("enter")  # its jobs
        await settle(pilot, polls=0)
        assert app.view == "jobs" and table_ids(app) == [schedules.get("ping-scraping").last_job_id]

    run(top_api, scenario)
    assert schedules.get("ping-nightly").enabled and not schedules.get("ping-scraping").enabled


def test_readonly_disables_every_action(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        assert "READ-ONLY" in str(app.top_bar.query_one("#state").render())
        await filter_jobs(pilot, "status:failed")
        await pilot.press("asterisk", "r", "d", "c")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen) and not app.jobs_view.all_matching
        assert all(b.binding.action != "act('retry')" for b in app.active_bindings.values() if b.enabled)
        await command(pilot, "failed")
        await pilot.press("d")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmScreen)
        await command(pilot, "schedules")
        await pilot.press("p", "t")
        await pilot.pause(0.3)

    run(top_api, scenario, readonly=True)
    from jobctl.api.schedules import ScheduleAPI

    assert ScheduleAPI(top_api).get("ping-scraping").enabled
    assert ScheduleAPI(top_api).get("ping-scraping").last_job_id is None
    assert top_api.get_job("fail-0").status is JobStatus.FAILED
    assert top_api.get_job("fail-bad").status is JobStatus.FAILED
