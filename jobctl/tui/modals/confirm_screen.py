"""Yes/no before an action: the title states the count; `y`/enter confirms, `n`/esc declines."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, body: str, confirm_label: str, *, danger: bool) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="danger" if self.danger else ""):
            yield Label(self.title_text, id="confirm-title")
            yield Static(self.body, id="confirm-body", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("No (n)", id="no")
                yield Button(
                    f"{self.confirm_label} (y)", id="yes", variant="error" if self.danger else "primary"
                )

    def on_mount(self) -> None:
        # Destructive: the safe answer has the focus, so a stray enter does nothing harmful.
        self.query_one("#no" if self.danger else "#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
