"""Failed groups, biggest first: count, type, error class, message, first and last seen."""

from __future__ import annotations

from datetime import datetime

from jobctl.api.dashboard import FailedGroup, FailedGroupKey
from jobctl.tui.format import age, cell, short
from jobctl.tui.keyed_table import KeyedTable, Row

_SEP = "\x1f"


def group_key(key: FailedGroupKey) -> str:
    """A row key that identifies the group exactly (the unit separator never occurs in text)."""
    return _SEP.join((key.type, key.error_type or "", key.error_message or ""))


class FailedGroupsTable(KeyedTable):
    COLUMNS = (
        ("mark", " "),
        ("count", "JOBS"),
        ("type", "TYPE"),
        ("class", "ERROR"),
        ("last", "LAST"),
        ("first", "FIRST"),
        ("message", "MESSAGE"),
    )

    def show(self, groups: list[FailedGroup], marks: set[str], now: datetime) -> None:
        theme = self.app.current_theme
        rows: list[Row] = []
        for g in groups:
            key = group_key(g.key)
            rows.append(
                (
                    key,
                    [
                        cell("●", theme.accent or "") if key in marks else " ",
                        f"{g.count:,}",
                        cell(short(g.key.type, 16)),
                        cell(short(g.key.error_type or "-", 24), theme.error or ""),
                        age(g.last_seen, now),
                        age(g.first_seen, now),
                        cell(short(g.key.error_message, 300)),
                    ],
                )
            )
        self.fill(rows)
