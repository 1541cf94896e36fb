"""No keystroke is lost: keys sent in one burst after `:` or `/` all reach the prompt, and the
keys after its enter or esc reach whatever comes next (issue 10, item 4).

`burst` hands every key to the driver at once, with no pause for the app to catch up, as a
paste or a fast typist (or `tmux send-keys`) does; `pilot.press(*keys)` is tried as well.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import _character_to_key  # type: ignore[attr-defined]
from top_support import Scenario, run_top, settle, until

from jobctl.api import JobctlAPI
from jobctl.tui.app import TopApp
from jobctl.tui.jobs.jobs_table import JobsTable


def run(api: JobctlAPI, scenario: Scenario) -> None:
    run_top(api, scenario, size=(80, 24))


def burst(app: TopApp, text: str) -> None:
    """Every key of `text` (\\n is enter, \\x1b is esc) to the driver in one go."""
    driver = app._driver
    assert driver is not None
    for ch in text:
        if ch == "\n":
            event = events.Key("enter", "\r")
        elif ch == "\x1b":
            event = events.Key("escape", "\x1b")
        else:
            event = events.Key(ch if ch.isalnum() else _character_to_key(ch), ch)
        event.set_sender(app)
        driver.send_message(event)


def ids(app: TopApp) -> list[str]:
    return app.jobs_view.query_one(JobsTable).keys()


async def quiet(pilot: Any) -> None:
    await settle(pilot, polls=0)
    await pilot.pause(0.1)


def test_command_burst_switches_views(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        burst(app, ":failed\n")
        await until(pilot, lambda: app.view == "failed")
        await quiet(pilot)
        assert app.view == "failed" and not app.prompt.display
        burst(app, ":jobs\n:workers\n")  # two commands back to back
        await until(pilot, lambda: app.view == "workers")
        await quiet(pilot)
        assert app.view == "workers" and app.history[-1] == "jobs" and not app.prompt.display
        await pilot.press(*":failed", "enter")  # Pilot's own press, no pauses between keys
        await until(pilot, lambda: app.view == "failed")
        assert not app.prompt.display

    run(top_api, scenario)


def test_filter_burst_with_a_colon_inside(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        burst(app, "/org:acme status:failed\n")
        await until(pilot, lambda: app.view == "jobs" and app.jobs_view.filter_text != "")
        await quiet(pilot)
        assert app.jobs_view.filter_text == "org:acme status:failed"
        assert ids(app) == ["fail-0"] and not app.prompt.display

    run(top_api, scenario)


def test_error_then_esc_closes_and_q_quits(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        burst(app, ":nonsense\n")
        await until(pilot, lambda: "unknown view" in str(app.prompt.border_title))
        await quiet(pilot)
        assert app.prompt.display and app.prompt.value == "nonsense"
        burst(app, "\x1b")
        await until(pilot, lambda: not app.prompt.display)
        assert app.view == "queues" and app.prompt.value == ""
        burst(app, "q")
        await until(pilot, lambda: app._exit)
        assert app._exit

    run(top_api, scenario)


def test_keys_after_enter_reach_the_view_not_the_closed_prompt(top_api: JobctlAPI) -> None:
    async def scenario(pilot: Any) -> None:
        app: TopApp = pilot.app
        burst(app, ":nonsense\n\x1b:jobs\nq")  # error, esc, a good command, then quit
        await until(pilot, lambda: app._exit)
        assert app._exit and app.view == "jobs"

    run(top_api, scenario)
