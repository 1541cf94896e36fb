"""`:failed`: the groups table; enter opens a group's jobs, r/d retry or delete whole groups."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from jobctl.api.dashboard import Action, FailedGroup, JobSearch
from jobctl.tui.actions import Target
from jobctl.tui.failed.failed_groups_table import FailedGroupsTable, group_key

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp


class FailedView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark"),
        Binding("r", "act('retry')", "Retry group"),
        Binding("d", "act('delete')", "Delete group"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.groups: dict[str, FailedGroup] = {}
        self.marks: set[str] = set()

    @property
    def top(self) -> TopApp:
        return cast("TopApp", self.app)

    def compose(self) -> ComposeResult:
        yield Label("FAILED", id="failed-title", classes="section")
        yield FailedGroupsTable(id="failed-table")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "act" and self.top.readonly)

    def show(self, groups: list[FailedGroup], now: datetime) -> None:
        self.groups = {group_key(g.key): g for g in groups}
        self.marks &= set(self.groups)
        jobs = sum(g.count for g in groups)
        title = f"FAILED {jobs:,} job(s) in {len(groups)} group(s) by type + error + message"
        if self.marks:
            title += f" · {len(self.marks)} marked"
        self.query_one("#failed-title", Label).update(title)
        self.query_one(FailedGroupsTable).show(groups, self.marks, now)

    def _current(self) -> FailedGroup | None:
        key = self.query_one(FailedGroupsTable).current_key()
        return self.groups.get(key) if key else None

    def action_mark(self) -> None:
        group = self._current()
        if group is None:
            return
        self.marks ^= {group_key(group.key)}
        self.show(list(self.groups.values()), self.top.now())
        self.query_one(FailedGroupsTable).action_cursor_down()

    def action_act(self, action: str) -> None:
        chosen = [self.groups[k] for k in self.marks if k in self.groups]
        if not chosen:
            current = self._current()
            chosen = [current] if current else []
        if not chosen:
            return
        what = (
            f"the group {chosen[0].key.type} · {chosen[0].key.error_type}"
            if len(chosen) == 1
            else f"{len(chosen)} marked groups"
        )
        searches = tuple(JobSearch(group=g.key) for g in chosen)
        self.top.request_action(Action(action), Target(what, searches=searches), after=self.marks.clear)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        group = self.groups.get(str(event.row_key.value))
        if group is not None:
            self.top.open_group(group)
