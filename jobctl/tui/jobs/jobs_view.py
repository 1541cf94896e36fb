"""`:jobs`: one keyset page of jobs at a time, the filter, marks, and the actions on them.

Paging keeps the start cursor of every page seen (`]` pushes, `[` pops): going back is
exact, going forward is one index range scan, and nothing but the page is ever loaded.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from jobctl.api.dashboard import Action, Cursor, JobPage, JobProgress, JobSearch, JobSummary
from jobctl.domain.status import JobStatus
from jobctl.tui.actions import Target
from jobctl.tui.format import short
from jobctl.tui.jobs.jobs_table import JobsTable

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp

PAGE_SIZE = 100


class JobsView(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark"),
        Binding("asterisk", "mark_all", "Mark all", show=False),
        Binding("r", "act('retry')", "Retry"),
        Binding("c", "act('cancel')", "Cancel"),
        Binding("d", "act('delete')", "Delete"),
        Binding("right_square_bracket", "page(1)", "Next page", show=False),
        Binding("left_square_bracket", "page(-1)", "Prev page", show=False),
        Binding("g", "first_page", "First page", show=False),
        Binding("s", "sort", "Sort", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.filter_text = ""
        self.search = JobSearch()
        self.pages: list[Cursor | None] = [None]  # start cursor of each page up to the current one
        self.newest_first = True
        self.marks: dict[str, JobStatus] = {}
        self.all_matching = False
        self.rows: list[JobSummary] = []
        self.has_more = False
        self.slow_note = ""
        self.progress: dict[str, JobProgress] = {}  # running jobs' reported progress, by id

    @property
    def top(self) -> TopApp:
        return cast("TopApp", self.app)

    def compose(self) -> ComposeResult:
        yield Label("", id="jobs-status", markup=False)
        yield JobsTable(id="jobs-table")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in ("act", "mark_all") and self.top.readonly)

    # -- state -------------------------------------------------------------------------------

    def set_filter(self, text: str, search: JobSearch) -> None:
        self.filter_text, self.search = text, search
        self.pages, self.all_matching = [None], False
        self._status()
        self.top.refresh_view()

    @property
    def after(self) -> Cursor | None:
        return self.pages[-1]

    def show(self, page: JobPage, now: datetime) -> None:
        self.rows, self.has_more = page.rows, page.has_more
        self.query_one(JobsTable).show(page.rows, set(self.marks), now, self.progress)
        self._status()

    def show_current(self) -> None:
        """Redraw the rows already loaded (marks changed)."""
        self.show(JobPage(self.rows, self.has_more), self.top.now())

    def _status(self) -> None:
        parts = [f"filter: {short(self.filter_text, 60)}" if self.filter_text else "all jobs (/ to filter)"]
        parts.append(f"page {len(self.pages)}{'' if self.has_more else ' (last)'}")
        parts.append("newest first" if self.newest_first else "oldest first")
        if self.all_matching:
            parts.append("ALL MATCHING MARKED (*)")
        elif self.marks:
            parts.append(f"{len(self.marks)} marked")
        if self.slow_note:
            parts.append(self.slow_note)
        self.query_one("#jobs-status", Label).update("  ·  ".join(parts))

    # -- keys --------------------------------------------------------------------------------

    def action_page(self, step: int) -> None:
        if step > 0 and self.has_more and self.rows:
            self.pages.append(self.rows[-1].cursor)
        elif step < 0 and len(self.pages) > 1:
            self.pages.pop()
        else:
            return
        self.top.refresh_view()

    def action_first_page(self) -> None:
        self.pages = [None]
        self.top.refresh_view()

    def action_sort(self) -> None:
        self.newest_first = not self.newest_first
        self.pages = [None]
        self.top.refresh_view()

    def action_mark(self) -> None:
        table = self.query_one(JobsTable)
        key = table.current_key()
        row = next((r for r in self.rows if r.id == key), None)
        if row is None:
            return
        if self.marks.pop(row.id, None) is None:
            self.marks[row.id] = row.status
        self.show_current()
        table.action_cursor_down()

    def action_mark_all(self) -> None:
        self.all_matching = not self.all_matching
        self._status()

    def action_act(self, action: str) -> None:
        if self.all_matching:
            what = f"all jobs matching `{self.filter_text}`" if self.filter_text else "ALL jobs"
            target = Target(what, searches=(self.search,))
        elif self.marks:
            target = Target(f"{len(self.marks)} marked job(s)", ids=tuple(self.marks.items()))
        else:
            key = self.query_one(JobsTable).current_key()
            row = next((r for r in self.rows if r.id == key), None)
            if row is None:
                return
            target = Target(f"job {row.id} ({row.status.value})", ids=((row.id, row.status),))
        self.top.request_action(Action(action), target, after=self.clear_marks)

    def clear_marks(self) -> None:
        self.marks.clear()
        self.all_matching = False
        self._status()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.top.open_job(str(event.row_key.value))
