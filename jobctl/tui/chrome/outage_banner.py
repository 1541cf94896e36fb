"""Shown while Redis or the database cannot be reached: what failed, and how old the data is."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from jobctl.tui.format import clock, short
from jobctl.tui.poller import Backend


class OutageBanner(Static):
    """One line per unreachable backend; hidden when both answer. Polling goes on meanwhile,
    so the banner disappears by itself when the backend is back."""

    message = ""

    def show(
        self, errors: dict[Backend, str], since: dict[Backend, datetime], last_good: datetime | None
    ) -> None:
        self.display = bool(errors)
        if not errors:
            self.message = ""
            self.update("")
            return
        lines = [
            f"⚠ {backend.value} unreachable since {clock(since.get(backend))}: {short(message, 160)}"
            for backend, message in sorted(errors.items())
        ]
        lines.append(f"  showing the last data ({clock(last_good)}); retrying on every refresh")
        self.message = "\n".join(lines)
        self.update(self.message)
