"""The top line: where you are, failures since you last looked, and how fresh the data is."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from jobctl.api.dashboard import FAILURE_BADGE_CAP
from jobctl.tui.format import clock


class TopBar(Horizontal):
    """`jobctl top · jobs` | `✖ 12 new failures` | `READ-ONLY  FROZEN  ⟳ 12:00:03`."""

    def compose(self) -> ComposeResult:
        yield Label("jobctl top", id="title")
        yield Label("", id="badge")
        yield Label("", id="state")

    def show_view(self, view: str) -> None:
        self.query_one("#title", Label).update(Text.assemble(("jobctl top", "bold"), f" · {view}"))

    def show_failures(self, new_failures: int | None) -> None:
        """None: unknown (the database has not answered yet)."""
        badge = self.query_one("#badge", Label)
        badge.set_class(bool(new_failures), "alarm")
        if new_failures is None:
            badge.update("")
        elif new_failures == 0:
            badge.update("no new failures")
        else:
            n = f"{FAILURE_BADGE_CAP - 1}+" if new_failures >= FAILURE_BADGE_CAP else str(new_failures)
            badge.update(f" ✖ {n} new failure{'s' if new_failures != 1 else ''} (:failed) ")

    def show_state(
        self, *, refreshed: datetime | None, frozen: bool, readonly: bool, interval: float, busy: str | None
    ) -> None:
        parts = [busy] if busy else []
        if readonly:
            parts.append("READ-ONLY")
        if frozen:
            parts.append("FROZEN (Z)")
        parts.append(f"⟳ {interval:g}s {clock(refreshed)}")
        self.query_one("#state", Label).update("  ".join(parts))
