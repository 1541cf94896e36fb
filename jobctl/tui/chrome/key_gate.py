"""Keys in a burst reach the right widget, in order (the prompt never loses a keystroke).

Textual routes each key to the widget focused *when the app reads the key*; focus changes and
the prompt's enter/esc handling run later, as messages. Keys that arrive in one burst (a paste,
a fast typist, `tmux send-keys ':jobs' Enter`) would go to the widget that was focused before:
`:` opened the prompt after `jo` had gone to the table. Two rules close that gap:

- `:` and `/` open the prompt inside the app's own handling of that key (a priority binding)
  and focus it synchronously, so the next key already finds it focused;
- enter or esc in the prompt holds every later key until the app has acted on the prompt
  (switched view, failed, closed) and moved focus; then the held keys are replayed in order.
  A timer releases them if no answer comes, so no key is ever held for good.
"""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.timer import Timer

from jobctl.tui.chrome.prompt_line import PromptLine

_RELEASE_AFTER_S = 0.5


class KeyGate(App[None]):
    """Mixin for the dashboard app: holds keys while the prompt's answer is on its way."""

    _held_keys: list[events.Key] | None = None
    _release_timer: Timer | None = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            if self._held_keys is not None:
                self._held_keys.append(event)
                return
            if event.key in ("enter", "escape") and isinstance(self.focused, PromptLine):
                self._hold_keys()
        await super().on_event(event)

    def _hold_keys(self) -> None:
        self._held_keys = []
        self._release_timer = self.set_timer(_RELEASE_AFTER_S, self.release_keys)

    async def release_keys(self) -> None:
        """Replay the held keys, in order, to whatever is focused now."""
        if self._release_timer is not None:
            self._release_timer.stop()
            self._release_timer = None
        held, self._held_keys = self._held_keys, None
        for event in held or ():
            await self.on_event(event)  # may hold again after another enter: order is kept
