"""Screenshots of `jobctl top`'s main views at 80x24 and 160x48 (pytest-textual-snapshot).

The data is fixed (ids, times, workers: see top_support.seed) and the dashboard's clock is
frozen, so the SVGs only change when the UI does. Review a change in the HTML report, then
accept it with `pytest --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from top_support import NOW, make_api, measured, settle, until

from jobctl.api import JobctlAPI
from jobctl.tui.app import create_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


@pytest.fixture
def seeded(sqlite_url: str, redis_url: str, tmp_path: Path) -> Iterator[JobctlAPI]:
    api = make_api(sqlite_url, redis_url, tmp_path)
    try:
        yield api
    finally:
        api.close()


def _shot(snap_compare: Any, api: JobctlAPI, size: tuple[int, int], *keys: str) -> bool:
    return _staged_shot(snap_compare, api, size, keys)


def _staged_shot(
    snap_compare: Any, api: JobctlAPI, size: tuple[int, int], *stages: tuple[str, ...], fetches: bool = True
) -> bool:
    """The screen after each stage of keys, each stage's fetch waited out before the next: a
    key that acts on what a view shows (`*` selects the visible rows) must see that view's
    data. `fetches=False`: the last stage fetches nothing (a modal), so only settle after it."""
    app = create_app(api=api, interval=3600, clock=lambda: NOW, seen_path=None)

    async def before(pilot: Any) -> None:
        await settle(pilot)
        for n, keys in enumerate(stages, 1):
            if not keys:
                continue
            polls = pilot.app.polls
            await pilot.press(*keys)
            await settle(pilot, polls=0)
            if n == len(stages) and not fetches:
                await pilot.pause(0.1)
                break
            # On a loaded machine the view's first fetch can still be on its way: wait for it
            # (the failed view's groups query is the slowest), then let the screen repaint.
            await until(
                pilot,
                lambda seen=polls: pilot.app.polls > seen and pilot.app.settled and measured(pilot.app),
                timeout=10,
            )
            await pilot.pause(0.1)

    return bool(snap_compare(app, terminal_size=size, run_before=before))


@pytest.mark.parametrize("size", SIZES)
def test_queues_view(snap_compare: Any, seeded: JobctlAPI, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, seeded, size)


@pytest.mark.parametrize("size", SIZES)
def test_jobs_view(snap_compare: Any, seeded: JobctlAPI, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, seeded, size, "colon", *"jobs", "enter")


@pytest.mark.parametrize("size", SIZES)
def test_failed_view(snap_compare: Any, seeded: JobctlAPI, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, seeded, size, "colon", *"failed", "enter")


@pytest.mark.parametrize("size", SIZES)
def test_workers_view(snap_compare: Any, seeded: JobctlAPI, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, seeded, size, "colon", *"workers", "enter")


@pytest.mark.parametrize("size", SIZES)
def test_job_detail(snap_compare: Any, seeded: JobctlAPI, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, seeded, size, "slash", *"id:fail-0", "enter", "enter")


@pytest.mark.parametrize("size", SIZES)
def test_schedules_view(snap_compare: Any, seeded: JobctlAPI, size: tuple[int, int]) -> None:
    assert _shot(snap_compare, seeded, size, "colon", *"schedules", "enter")


def test_confirmation_states_the_count(snap_compare: Any, seeded: JobctlAPI) -> None:
    # The filter's rows first, then select them all: `*` before the filtered fetch arrived
    # selected the unfiltered view's rows (seen once, on a loaded machine).
    filtered = ("slash", *"status:failed", "enter")
    assert _staged_shot(snap_compare, seeded, (80, 24), filtered, ("asterisk", "d"), fetches=False)
