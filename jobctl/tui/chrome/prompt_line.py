"""The bottom prompt: `:` to switch views (`:jobs`, `:failed`, …), `/` to filter the jobs."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input

COMMANDS = ("queues", "jobs", "failed", "workers", "schedules", "help", "quit")
_COMMAND_HINT = "queues | jobs [filter] | failed | workers | schedules | help | quit"
_FILTER_HINT = "status:failed type:sync-rss org:acme id:3f2a error:timeout  text  !negate   (enter / esc)"


class PromptLine(Input):
    """An Input that knows whether it is a command or a filter; hidden until asked for."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel", show=False)]

    class Entered(Message):
        def __init__(self, mode: str, value: str) -> None:
            super().__init__()
            self.mode = mode
            self.value = value

    class Dismissed(Message):
        pass

    def __init__(self) -> None:
        super().__init__(id="prompt", suggester=SuggestFromList(COMMANDS, case_sensitive=False))
        self.mode = ":"

    def open(self, mode: str, value: str = "") -> None:
        self.mode = mode
        self.remove_class("error")
        self.placeholder = _COMMAND_HINT if mode == ":" else _FILTER_HINT
        self.border_title = "command" if mode == ":" else "filter"
        # Suggestions complete command names only.
        self.suggester = SuggestFromList(COMMANDS, case_sensitive=False) if mode == ":" else None
        self.value = value
        self.display = True
        self.cursor_position = len(value)
        # Focus now, not on the next tick: keys right behind the `:` must land here.
        self.screen.set_focus(self)

    def fail(self, message: str) -> None:
        """Keep the prompt open, marked, with the reason as its title."""
        self.add_class("error")
        self.border_title = message

    def close(self) -> None:
        self.display = False
        self.value = ""

    async def action_submit(self) -> None:
        self.post_message(self.Entered(self.mode, self.value.strip()))

    def action_dismiss(self) -> None:
        self.post_message(self.Dismissed())
