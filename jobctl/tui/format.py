"""How the dashboard writes values: ages, durations, counts, statuses, text sparklines.

DataTable cells are markup strings built by `cell`, which escapes the data (error messages
and ids may hold square brackets): with Textual 8.2, rich Text cells refilled into a cleared
DataTable came out cut to their header's width. Colours come from the running theme, so a
light theme stays readable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.markup import escape
from textual.theme import Theme

from jobctl.domain.status import JobStatus

_BARS = "▁▂▃▄▅▆▇█"


def span(seconds: float) -> str:
    """A short human duration: 5s, 3m, 2h, 4d (floors, like `jobctl jobs list`)."""
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def age(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    delta = (now - when).total_seconds()
    return f"in {span(-delta)}" if delta < 0 else span(delta)


def duration(started: datetime | None, finished: datetime | None, now: datetime) -> str:
    """Run time; a running job's so far (suffixed '…')."""
    if started is None:
        return "-"
    seconds = ((finished or now) - started).total_seconds()
    text = f"{seconds:.1f}s" if seconds < 60 else span(seconds)
    return text if finished else f"{text}…"


def count(value: int | None) -> str:
    """Counts with thousands separators; None (backend unavailable) as '?'."""
    return "?" if value is None else f"{value:,}"


def clock(when: datetime | None) -> str:
    return when.strftime("%H:%M:%S") if when else "--:--:--"


def sparkline(values: Sequence[int]) -> str:
    """One character per value, scaled to the largest; all zeros stay flat."""
    top = max(values, default=0)
    if top <= 0:
        return _BARS[0] * len(values)
    return "".join(_BARS[min(len(_BARS) - 1, (v * (len(_BARS) - 1) + top - 1) // top)] for v in values)


def bar(fraction: float, width: int) -> str:
    """A text bar of `width` cells: full blocks, a partial one (in eighths), then light shade."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part].strip() if part and full < width else ""
    return ("█" * full + partial).ljust(width, "░")


def short(text: str | None, width: int) -> str:
    """One line of at most `width` characters (…-truncated)."""
    line = " ".join((text or "").split())
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"


def cell(text: str, style: str = "") -> str:
    """A table cell showing `text` literally, in `style` (a rich style; "" for none)."""
    safe = escape(text)
    # A trailing backslash would escape the closing tag.
    safe = safe + " " if safe.endswith("\\") else safe
    return f"[{style}]{safe}[/]" if style.strip() else safe


def status_style(status: JobStatus, theme: Theme) -> str:
    return {
        JobStatus.FAILED: f"bold {theme.error}",
        JobStatus.RUNNING: f"bold {theme.warning}",
        JobStatus.COMPLETED: theme.success or "",
        JobStatus.CANCELLED: "dim",
        JobStatus.PENDING: "",
    }[status]


def status_cell(status: JobStatus, theme: Theme) -> str:
    return cell(status.value, status_style(status, theme))


def warn(text: str, theme: Theme) -> str:
    return cell(text, f"bold {theme.warning}")


def bad(text: str, theme: Theme) -> str:
    return cell(text, f"bold {theme.error}")
