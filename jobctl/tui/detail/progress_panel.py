"""The job detail's PROGRESS part: a bar from the job's last `ctx.progress()` and its last lines.

Fed by the SQL loop's detail poll (jobctl.tui.poller reads the job's activity from Redis next
to its row). Hidden while the job has reported nothing, so a job that never reports looks as
it always did; shown for a finished job too, whose last progress and lines stay readable
until they expire (`[jobs] log_ttl_seconds`).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from jobctl.domain.progress import JobActivity, JobProgress
from jobctl.tui.format import bar

BAR_WIDTH = 30


class ProgressPanel(Static):
    """PROGRESS (bar, done/total, message, when) and LAST LINES of the open job."""

    DEFAULT_CSS = """
    ProgressPanel {
        height: auto;
        margin-bottom: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.display = False
        self.activity: JobActivity | None = None

    def show(self, activity: JobActivity | None, attempts: int) -> None:
        """Draw `activity` (None: Redis could not be read; keep what is shown)."""
        if activity is None:
            return
        self.activity = activity
        empty = activity.progress is None and not activity.lines
        self.display = not empty
        if not empty:
            self.update(self._text(activity, attempts))

    def _text(self, activity: JobActivity, attempts: int) -> Text:
        t = Text()
        if activity.progress is not None:
            t.append("PROGRESS\n", style="bold")
            t.append_text(_progress_line(activity.progress, attempts))
        if activity.lines:
            if activity.progress is not None:
                t.append("\n")
            t.append(f"LAST LINES ({len(activity.lines)} of {activity.lines_total})\n", style="bold")
            for line in activity.lines:
                t.append(f"  {line.ts[11:19]} ", style="dim")
                t.append(line.describe().split(" ", 1)[1] + "\n")
        return t


def _progress_line(p: JobProgress, attempts: int) -> Text:
    t = Text("  ")
    fraction = p.fraction
    if fraction is not None:
        t.append(bar(fraction, BAR_WIDTH), style="bold")
        t.append(f" {fraction * 100:3.0f}%  {p.done:g}/{p.total:g}")
    else:
        t.append(f"{p.done:g} done (no total)")
    if p.message:
        t.append(f"  {p.message}")
    when = p.updated_at[11:19]
    t.append(f"\n  updated {when}Z" if when else "", style="dim")
    if p.attempt != attempts:
        t.append(f" (reported by attempt {p.attempt})", style="dim")
    return t.append("\n")
