"""`?`: every key, the views, and the filter language."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from jobctl.api.dashboard_filter import HELP as FILTER_HELP

KEYS = """\
VIEWS        :queues (start)  :jobs [filter]  :failed  :workers  :schedules   esc: back
EVERYWHERE   :  command   /  filter jobs   ?  this help   Z  freeze/resume refresh   q  quit
JOBS         enter  details   space  mark row   *  mark everything matching the filter
             ]  next page   [  previous page   g  first page   s  newest/oldest first
ACTIONS      r  retry   c  cancel (a running job is stopped)   d  delete (finished jobs only)
             on the marked rows, else on the current row; each asks first and states the count
FAILED       enter  the group's jobs   space  mark group   r / d  retry / delete the group(s)
SCHEDULES    enter  the schedule's jobs   p  pause   u  resume   t  trigger now
DETAIL       y  raw JSON   r / c / d  act on this job   esc  back
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(KEYS, markup=False)
            yield Static("FILTER       " + FILTER_HELP, markup=False, id="help-filter")
            yield Static("--readonly disables every action.", markup=False)
