"""`jobctl top`: the Textual app, and `create_app`, the factory the CLI and the tests share.

The app owns the views and the two polling loops (jobctl.tui.loops); every Redis or SQL call
runs in a thread worker, so the UI never blocks on a backend. Actions go through the same
JobctlAPI calls as the CLI (jobctl.tui.action_flow).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import ContentSwitcher, Footer, Input

from jobctl.api.dashboard import RQ_WORKER_TTL_S, Dashboard, FailedGroup, parse_filter
from jobctl.api.jobs import JobctlAPI
from jobctl.domain.errors import InvalidInputError
from jobctl.domain.timeparse import utcnow
from jobctl.settings import Settings
from jobctl.tui.action_flow import ActionFlow
from jobctl.tui.chrome.key_gate import KeyGate
from jobctl.tui.chrome.outage_banner import OutageBanner
from jobctl.tui.chrome.prompt_line import PromptLine
from jobctl.tui.chrome.top_bar import TopBar
from jobctl.tui.detail.job_detail_screen import JobDetailScreen
from jobctl.tui.failed.failed_view import FailedView
from jobctl.tui.jobs.jobs_view import JobsView
from jobctl.tui.keyed_table import KeyedTable
from jobctl.tui.loops import Loops
from jobctl.tui.modals.help_screen import HelpScreen
from jobctl.tui.overview.overview_view import OverviewView
from jobctl.tui.schedules.schedules_view import SchedulesView
from jobctl.tui.seen import FailuresSeen
from jobctl.tui.workers.workers_view import WorkersView

VIEWS = ("queues", "jobs", "failed", "workers", "schedules")


class TopApp(KeyGate, Loops, ActionFlow, App[None]):
    CSS_PATH = "top.tcss"
    TITLE = "jobctl top"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the prompt opens while the app reads the key, before the next one arrives.
        Binding("colon", "prompt(':')", "Cmd", key_display=":", priority=True),
        Binding("slash", "prompt('/')", "Filter", key_display="/", priority=True),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("Z", "freeze", "Freeze"),
        Binding("escape", "go_back", "Back", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        dash: Dashboard,
        *,
        interval: float = 1.0,
        readonly: bool = False,
        seen_path: Path | None = None,
    ) -> None:
        super().__init__()
        self.dash = dash
        self.interval = interval
        self.readonly = readonly
        self.view = "queues"
        self.history: list[str] = []
        self.seen = FailuresSeen(seen_path, self.now())
        self.init_loops()
        self.init_actions()

    def now(self) -> datetime:
        return self.dash.clock()

    def compose(self) -> ComposeResult:
        yield TopBar(id="top-bar")
        yield OutageBanner(id="banner")
        with ContentSwitcher(initial="queues", id="views"):
            yield OverviewView(id="queues")
            yield JobsView(id="jobs")
            yield FailedView(id="failed")
            yield WorkersView(self.dash.stale_after.total_seconds(), id="workers")
            yield SchedulesView(id="schedules")
        yield PromptLine()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.top_bar = self.query_one(TopBar)
        self.banner = self.query_one(OutageBanner)
        self.overview_view = self.query_one(OverviewView)
        self.jobs_view = self.query_one(JobsView)
        self.failed_view = self.query_one(FailedView)
        self.workers_view = self.query_one(WorkersView)
        self.schedules_view = self.query_one(SchedulesView)
        self.prompt = self.query_one(PromptLine)
        self.switcher = self.query_one(ContentSwitcher)
        self.top_bar.show_view(self.view)
        self.show_state()
        self._focus_view()
        self.start_loops()
        self.set_interval(1.0, self.watch_hung_polls)

    def show_state(self) -> None:
        self.top_bar.show_state(
            refreshed=self.refreshed_at,
            frozen=self.frozen,
            readonly=self.readonly,
            interval=self.interval,
            busy=self.action_running,
        )

    # -- views -------------------------------------------------------------------------------

    def switch_view(self, name: str, *, remember: bool = True) -> None:
        if name not in VIEWS:
            raise InvalidInputError(f"unknown view {name!r} (views: {', '.join(VIEWS)})")
        if remember and name != self.view:
            self.history.append(self.view)
        self.view = name
        self.switcher.current = name
        self.top_bar.show_view(name)
        if name == "failed":
            self.seen.mark(self.now())
            self.forget_failures()
        self._focus_view()
        self.redraw()
        self.refresh_view()

    def _focus_view(self) -> None:
        """Focus the view's table now (not on the next tick): the next key goes to it."""
        tables = self.switcher.query_one(f"#{self.view}").query(KeyedTable)
        if tables:
            self.screen.set_focus(tables.first())

    def open_job(self, job_id: str) -> None:
        self.push_screen(JobDetailScreen(job_id))
        self.refresh_view()

    def open_group(self, group: FailedGroup) -> None:
        """The group's jobs in the jobs view, as an editable filter."""
        k = group.key
        parts = ["status:failed", f"type:{shlex.quote(k.type)}"]
        if k.error_type:
            parts.append(f"class:{shlex.quote(k.error_type)}")
        if k.error_message:
            parts.append(f"error:{shlex.quote(k.error_message)}")
        self.apply_filter(" ".join(parts))

    def apply_filter(self, text: str) -> None:
        """Parse (InvalidInputError on a bad filter), then show the jobs view with it."""
        search = parse_filter(text, self.now())
        if self.view != "jobs":
            self.switch_view("jobs")
        self.jobs_view.set_filter(text, search)

    # -- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "prompt":
            # `:` and `/` are text while an input has focus, and belong to the main screen only.
            return self.screen is self.screen_stack[0] and not isinstance(self.focused, Input)
        return True

    def action_prompt(self, mode: str) -> None:
        value = self.jobs_view.filter_text if mode == "/" else ""
        self.prompt.open(mode, value)

    async def on_prompt_line_entered(self, message: PromptLine.Entered) -> None:
        prompt = self.prompt
        try:
            if message.mode == "/":
                self.apply_filter(message.value)
            else:
                self._command(message.value)
        except InvalidInputError as exc:
            prompt.fail(exc.message)
        else:
            if prompt.display:
                prompt.close()
                self._focus_view()
        await self.release_keys()

    def _command(self, line: str) -> None:
        word, _, rest = line.strip().lstrip(":").partition(" ")
        word = word.lower()
        if word in ("q", "quit", "exit"):
            self.exit()
        elif word in ("help", "h", "?"):
            self.prompt.close()
            self.action_help()
        elif word == "jobs" and rest.strip():
            self.apply_filter(rest.strip())
        elif word in ("overview", "queue"):
            self.switch_view("queues")
        elif word:
            self.switch_view(word)

    async def on_prompt_line_dismissed(self, _message: PromptLine.Dismissed) -> None:
        self.prompt.close()
        self._focus_view()
        await self.release_keys()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_freeze(self) -> None:
        self.set_frozen(not self.frozen)
        self.show_state()

    def action_go_back(self) -> None:
        jobs = self.jobs_view
        if self.view == "jobs" and (jobs.marks or jobs.all_matching):
            jobs.clear_marks()
            jobs.show_current()
        elif self.history:
            self.switch_view(self.history.pop(), remember=False)


def create_app(
    settings: Settings | None = None,
    *,
    api: JobctlAPI | None = None,
    interval: float = 1.0,
    readonly: bool = False,
    clock: Callable[[], datetime] = utcnow,
    seen_path: Path | None = None,
    stale_after_s: float = RQ_WORKER_TTL_S,
) -> TopApp:
    """The dashboard over `api` (or a new JobctlAPI over `settings`). The caller closes the API.

    `clock` is the dashboard's "now" (ages, windows): tests freeze it for stable screenshots.
    `seen_path` remembers when failures were last looked at (default: in the data directory).
    """
    if interval <= 0:
        raise InvalidInputError(f"--interval must be positive, not {interval:g}")
    api = api or JobctlAPI(settings)
    if seen_path is None:
        seen_path = api.settings.data_dir / "top-state.json"
    dash = Dashboard(api, clock=clock, stale_after_s=stale_after_s)
    return TopApp(dash, interval=interval, readonly=readonly, seen_path=seen_path)
