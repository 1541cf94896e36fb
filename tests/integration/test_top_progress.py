"""`jobctl top` shows what jobs report (Pilot, real Redis and SQLite): a PROGRESS column for
running jobs, and a bar with the last lines in the job detail. The reports are written as a
worker writes them: a JobContext whose sink is the worker's ProgressWriter."""

from __future__ import annotations

from typing import Any

from top_support import SCRAPING, run_top, settle, type_text, until

from jobctl.api import JobctlAPI
from jobctl.processors.base import JobContext
from jobctl.queue.progress import ProgressWriter
from jobctl.tui.app import TopApp
from jobctl.tui.detail.job_detail_screen import JobDetailScreen
from jobctl.tui.detail.progress_panel import ProgressPanel
from jobctl.tui.jobs.jobs_table import JobsTable


def _report(api: JobctlAPI, job_id: str, done: float, total: float | None, lines: int) -> None:
    writer = ProgressWriter(api.backends.redis, max_lines=200, max_bytes=65536, ttl_s=600)
    ctx = JobContext(job_id, "ping", SCRAPING, 1, 4, "acme", "worker-a", sink=writer)
    for i in range(lines):
        ctx.log(f"fetched page {i + 1}", page=i + 1)
    ctx.progress(done, total, "fetching pages")
    writer.close()


async def _jobs(pilot: Any) -> None:
    await pilot.press("colon")
    await type_text(pilot, "jobs")
    await pilot.press("enter")
    await settle(pilot, polls=0)


def test_running_jobs_show_their_progress_in_the_jobs_table(top_api: JobctlAPI) -> None:
    _report(top_api, "run-0", 2, 5, lines=0)
    _report(top_api, "done-0", 5, 5, lines=0)  # finished: its old report is not a column value

    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        await _jobs(pilot)
        table = app.jobs_view.query_one(JobsTable)
        await until(pilot, lambda: "40%" in str(table.get_cell("run-0", "progress")))
        assert str(table.get_cell("run-0", "progress")).endswith("██░░░  40%")
        assert str(table.get_cell("done-0", "progress")) == ""
        assert str(table.get_cell("wait-0", "progress")) == ""

    run_top(top_api, scenario, size=(160, 40))


def test_a_running_job_without_reports_shows_a_dash(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        await _jobs(pilot)
        table = app.jobs_view.query_one(JobsTable)
        assert "-" in str(table.get_cell("run-0", "progress"))

    run_top(top_api, scenario, size=(160, 40))


def test_the_job_detail_shows_a_bar_and_the_last_lines(top_api: JobctlAPI) -> None:
    _report(top_api, "run-0", 3, 4, lines=12)

    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        app.open_job("run-0")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.record is not None)
        panel = app.screen.query_one(ProgressPanel)
        await until(pilot, lambda: panel.display)
        text = str(panel.render())
        assert "PROGRESS" in text and " 75%  3/4  fetching pages" in text
        assert "█" * 22 in text  # 3/4 of the 30-cell bar
        assert "LAST LINES (8 of 12)" in text  # the detail shows the newest few
        assert "#1 fetched page 12 page=12" in text and "fetched page 4 " not in text
        await pilot.press("escape")
        app.open_job("done-1")  # reported nothing: no panel at all
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.record is not None)
        await settle(pilot, polls=0)
        assert not app.screen.query_one(ProgressPanel).display

    run_top(top_api, scenario, size=(120, 40))
