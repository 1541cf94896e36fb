"""Output helpers: JSON documents and tables on stdout, one-line diagnostics on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from jobctl.domain.redaction import redact


def print_json(document: Any) -> None:
    """Exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    """One line on stderr, secrets masked."""
    line = redact(" ".join(message.split()))
    sys.stderr.write(f"error: {line}\n")
    sys.stderr.flush()


def info(message: str) -> None:
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A rich table on stdout (rich is imported here, not at CLI start-up)."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, header_style="bold", box=None, pad_edge=False)
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    # Piped output gets wide lines rather than rich's 80-column wrapping mid-id.
    width = None if sys.stdout.isatty() else 240
    Console(soft_wrap=False, width=width).print(t)


def age(when: datetime | None, now: datetime | None = None) -> str:
    """'5s', '3m', '2h', '4d' ago."""
    if when is None:
        return "-"
    seconds = int(((now or datetime.now(UTC)) - when).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return _span(seconds)


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}s" if value < 60 else _span(int(value))
