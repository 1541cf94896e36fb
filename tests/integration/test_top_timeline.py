"""The attempt timeline on the dashboard's job detail page, in Pilot on real Redis and SQLite:
every attempt the store recorded, drawn with its worker, duration, outcome and error, and
refreshed by the detail poll as the job moves on."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rich.console import Console
from top_support import SCRAPING, ago, run_top, settle, type_text, until

from jobctl.api import JobctlAPI
from jobctl.domain.attempts import AttemptOutcome
from jobctl.domain.records import JobError, NewJob
from jobctl.tui.app import TopApp
from jobctl.tui.detail.attempt_timeline import AttemptTimeline
from jobctl.tui.detail.job_detail_screen import JobDetailScreen

ERR = JobError(
    "JobProcessingError", "ping asked to fail its first 1 attempt(s)\nmore detail", "Traceback ..."
)


def _retried_and_running(api: JobctlAPI) -> None:
    """retried: attempt 1 on worker-a failed (retry scheduled), attempt 2 runs on worker-b."""
    repo = api.backends.repo
    job = NewJob(
        id="retried", type="ping", queue=SCRAPING, organization_id="acme", payload={}, max_attempts=4
    )
    repo.insert_many([job], ago(minutes=3))
    assert repo.claim("retried", "worker-a", ago(minutes=2)) == 1
    assert repo.schedule_retry("retried", 1, ERR, ago(seconds=70), ago(seconds=110))
    assert repo.claim("retried", "worker-b", ago(seconds=30)) == 2


def _text(widget: AttemptTimeline) -> str:
    console = Console(width=140, record=True, color_system=None)
    console.print(widget.content)
    return console.export_text()


async def _open(pilot: Any, job_id: str) -> JobDetailScreen:
    app: TopApp = pilot.app
    await pilot.press("slash", "ctrl+u")
    await type_text(pilot, f"id:{job_id}")
    await pilot.press("enter")
    await settle(pilot, polls=0)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and bool(app.screen.attempts))
    screen = app.screen
    assert isinstance(screen, JobDetailScreen)
    return screen


def test_detail_shows_every_attempt_and_follows_the_job(top_api: JobctlAPI) -> None:
    _retried_and_running(top_api)

    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        screen = await _open(pilot, "retried")
        timeline = screen.query_one(AttemptTimeline)
        assert [(a.attempt, a.worker, a.outcome) for a in timeline.attempts] == [
            (1, "worker-a", AttemptOutcome.RETRY_SCHEDULED),
            (2, "worker-b", None),
        ]
        assert [timeline.outcome_class(a) for a in timeline.attempts] == [
            "timeline--warn",
            "timeline--running",
        ]
        lines = [line.split() for line in _text(timeline).splitlines() if line.strip()]
        assert lines[0] == ["ATTEMPTS"]
        assert lines[1] == ["#", "WORKER", "STARTED", "TOOK", "OUTCOME", "ERROR"]
        one, two = lines[2], lines[3]
        assert one[:2] == ["1", "worker-a"] and "10.00s" in one and "retry_scheduled" in one
        assert " ".join(one).endswith("JobProcessingError: ping asked to fail its first 1 attempt(s)")
        assert two[:2] == ["2", "worker-b"] and "30.0s…" in two and "running" in two  # so far
        # The colours come from top.tcss: the outcome's class has the stylesheet's style.
        assert timeline.get_component_rich_style("timeline--running", partial=True).bold
        # The job moves on: the next detail poll redraws the timeline.
        assert top_api.backends.repo.complete("retried", 2, {"pong": True}, ago(seconds=5))
        app.refresh_view()
        await until(pilot, lambda: timeline.attempts[-1].outcome == AttemptOutcome.COMPLETED)
        assert "completed" in _text(timeline) and "25.00s" in _text(timeline)
        await pilot.press("y")  # the raw document carries the timeline too, and hides the widget
        assert screen.raw and not timeline.display
        await pilot.press("y")
        assert timeline.display

    run_top(top_api, scenario, size=(120, 40))


def test_a_job_that_never_ran_says_so(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        app.open_job("wait-0")  # seeded PENDING, never claimed
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.record is not None)
        await settle(pilot, polls=0)
        timeline = app.screen.query_one(AttemptTimeline)
        assert timeline.attempts == () and "no attempt yet" in _text(timeline)

    run_top(top_api, scenario)


def test_the_seeded_failure_has_its_attempt(top_api: JobctlAPI) -> None:
    """Jobs written through the store (the seed claims and fails fail-0) get their timeline."""
    attempts = top_api.job_attempts("fail-0")
    assert [(a.attempt, a.outcome) for a in attempts] == [(1, AttemptOutcome.FAILED)]
    assert attempts[0].finished_at is not None and attempts[0].started_at == ago(minutes=20) + timedelta(
        seconds=1
    )
