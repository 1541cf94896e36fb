"""`:schedules`: the schedules table; p/u/t pause, resume or trigger through ScheduleAPI.

These act on one schedule and undo easily (resume after pause; a trigger is one job), so
they run at once with a notification instead of a confirmation; --readonly disables them.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from jobctl.api.dashboard import ScheduleView
from jobctl.domain.errors import JobctlError
from jobctl.tui.schedules.schedules_table import SchedulesTable

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp


class SchedulesView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "schedule('pause')", "Pause"),
        Binding("u", "schedule('resume')", "Resume"),
        Binding("t", "schedule('trigger')", "Trigger"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.schedules: dict[str, ScheduleView] = {}

    @property
    def top(self) -> TopApp:
        return cast("TopApp", self.app)

    def compose(self) -> ComposeResult:
        yield Label("SCHEDULES", id="schedules-title", classes="section")
        yield SchedulesTable(id="schedules-table")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "schedule" and self.top.readonly)

    def show(self, schedules: list[ScheduleView], now: datetime) -> None:
        self.schedules = {s.record.name: s for s in schedules}
        paused = sum(1 for s in schedules if not s.record.enabled)
        title = f"SCHEDULES {len(schedules)}" + (f", {paused} paused" if paused else "")
        self.query_one("#schedules-title", Label).update(title)
        self.query_one(SchedulesTable).show(schedules, now)

    def action_schedule(self, verb: str) -> None:
        name = self.query_one(SchedulesTable).current_key()
        if name is None or self.top.readonly:
            return
        self.top.run_worker(partial(self._act, verb, name), thread=True, group="action", exit_on_error=False)

    def _act(self, verb: str, name: str) -> None:
        try:
            message = self.top.dash.schedule_action(verb, name)
        except JobctlError as exc:
            self.top.call_from_thread(
                self.top.notify, f"cannot {verb} {name}: {exc.message}", severity="error"
            )
            return
        self.top.call_from_thread(self._done, message)

    def _done(self, message: str) -> None:
        self.top.notify(message)
        self.top.refresh_view()
        self.top.poll_redis()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        view = self.schedules.get(str(event.row_key.value))
        if view is not None:
            self.top.apply_filter(f"schedule:{view.record.id}")
