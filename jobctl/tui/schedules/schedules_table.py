"""Schedules by name: state, when (plain English or cron), next run, last run and its result, skips."""

from __future__ import annotations

from datetime import datetime

from jobctl.api.dashboard import ScheduleView
from jobctl.tui.format import age, cell, short, status_style
from jobctl.tui.keyed_table import KeyedTable, Row


class SchedulesTable(KeyedTable):
    COLUMNS = (
        ("name", "NAME"),
        ("state", "STATE"),
        ("next", "NEXT"),
        ("last", "LAST RUN"),
        ("result", "RESULT"),
        ("skips", "SKIPS"),
        ("type", "TYPE"),
        ("when", "WHEN"),
    )

    def show(self, schedules: list[ScheduleView], now: datetime) -> None:
        theme = self.app.current_theme
        rows: list[Row] = []
        for view in schedules:
            r = view.record
            status = r.last_job_status
            result = cell(status.value, status_style(status, theme)) if status else "-"
            if r.last_job_id and status is None:
                result = cell("gone", "dim")  # its job was deleted
            skips = f"{r.skip_count} ({age(r.last_skipped_at, now)} ago)" if r.skip_count else "0"
            rows.append(
                (
                    r.name,
                    [
                        cell(short(r.name, 28)),
                        "on" if r.enabled else cell("paused", f"bold {theme.warning}"),
                        age(view.next_runs[0], now) if view.next_runs else "-",
                        f"{age(r.last_fired_at, now)} ago" if r.last_fired_at else "never",
                        result,
                        skips,
                        cell(r.job_type),
                        cell(short(view.description or f"{r.cron} ({r.timezone})", 60)),
                    ],
                )
            )
        self.fill(rows)
