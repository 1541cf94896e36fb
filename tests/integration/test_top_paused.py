"""`jobctl top` marks a paused queue (`jobctl queues pause`): PAUSED in its row of the queues
table, and a line saying how many jobs wait and how to resume it."""

from __future__ import annotations

from typing import Any

from top_support import ANALYTICS, NOW, SCRAPING, run_top

from jobctl.api import JobctlAPI
from jobctl.queue.pause import pause
from jobctl.tui.app import TopApp
from jobctl.tui.overview.queues_table import QueuesTable


def test_paused_queue_shows_paused(top_api: JobctlAPI) -> None:
    pause(top_api.backends.redis, SCRAPING, NOW)

    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        assert app.view == "queues"
        table = app.query_one(QueuesTable)
        cells = {key: str(table.get_row(key)[0]) for key in table.keys()}  # noqa: SIM118 - KeyedTable.keys() is a list
        assert cells[SCRAPING].endswith(f"]{SCRAPING} PAUSED[/]")  # in the warning style
        assert cells[ANALYTICS] == ANALYTICS  # the others are not marked
        warnings = str(app.query_one("#queue-warnings").render())
        assert f"{SCRAPING} is PAUSED" in warnings and f"jobctl queues resume {SCRAPING}" in warnings

    run_top(top_api, scenario)
