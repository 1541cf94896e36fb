"""A DataTable refreshed in place: rows keep their keys, the cursor stays on its row.

Rebuilding a table every second would jump the cursor and flicker; when the same rows come
back in the same order only the changed cells are rewritten, otherwise the rows are rebuilt
and the cursor returns to the row (by key) it was on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

Cell = str  # markup, built with jobctl.tui.format.cell
Row = tuple[str, Sequence[Cell]]  # (row key, one cell per column)


class KeyedTable(DataTable[Cell]):
    """DataTable with row cursor, zebra stripes off, and `fill` for periodic refreshes."""

    COLUMNS: Sequence[tuple[str, str]] = ()  # (key, label)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    def current_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except (IndexError, RowDoesNotExist):
            return None
        return str(key) if key is not None else None

    def keys(self) -> list[str]:
        return [str(row.key.value) for row in self.ordered_rows]

    def fill(self, rows: Sequence[Row]) -> None:
        if [key for key, _ in rows] == self.keys():
            columns = [key for key, _ in self.COLUMNS]
            for key, cells in rows:
                old = self.get_row(key)
                for column, cell, before in zip(columns, cells, old, strict=True):
                    if cell != before:
                        self.update_cell(key, column, cell, update_width=True)
            return
        keep, index = self.current_key(), self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if not rows:
            return
        target = min(index, len(rows) - 1)
        if keep is not None:
            with contextlib.suppress(RowDoesNotExist):
                target = self.get_row_index(keep)
        self.move_cursor(row=target, animate=False)
