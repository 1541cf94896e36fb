"""The attempt timeline of `jobctl jobs show`: one line per execution of the job.

Plain aligned text like the rest of `jobs show` (no rich: the command stays cheap to start), the
error as one line; the last error's traceback is printed in full by `jobs show` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobctl.cli.output import seconds
from jobctl.domain.attempts import AttemptRecord

ERROR_CHARS = 100  # the one-liner's length; `--json` has the whole message and traceback
_STAMP = "%Y-%m-%d %H:%M:%SZ"
HEADER = ("#", "WORKER", "STARTED", "TOOK", "OUTCOME", "ERROR")


def attempt_lines(attempts: Sequence[AttemptRecord]) -> list[str]:
    """The timeline's lines, header first; ["(no attempt yet)"] before the first run."""
    if not attempts:
        return ["(no attempt yet)"]
    rows = [HEADER] + [_cells(a) for a in attempts]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return lines


def _cells(a: AttemptRecord) -> tuple[str, str, str, str, str, str]:
    took = seconds(a.duration_ms / 1000) if a.duration_ms is not None else "-"
    outcome = "running" if a.outcome is None else str(a.outcome)
    line = a.error_line
    if len(line) > ERROR_CHARS:
        line = line[: ERROR_CHARS - 1] + "…"
    return (str(a.attempt), a.worker or "-", a.started_at.strftime(_STAMP), took, outcome, line)
