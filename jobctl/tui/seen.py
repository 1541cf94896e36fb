"""When the operator last looked at the failures: the header badge counts failures since then.

Kept in a small JSON file in jobctl's data directory, so the badge survives restarts of
`jobctl top` (seed T048). Never seen: the last 24 hours count. An unwritable file only loses
the memory across restarts; the dashboard does not fail over it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger("jobctl.top")
FIRST_LOOK = timedelta(hours=24)


class FailuresSeen:
    def __init__(self, path: Path | None, now: datetime) -> None:
        self.path = path
        self.at = self._load() or now - FIRST_LOOK

    def _load(self) -> datetime | None:
        if self.path is None:
            return None
        try:
            value = datetime.fromisoformat(json.loads(self.path.read_text())["failures_seen_at"])
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(f"ignoring unreadable {self.path}: {exc}")
            return None

    def mark(self, now: datetime) -> None:
        """The operator looked now: later failures are new."""
        self.at = now
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"failures_seen_at": now.isoformat()}))
            tmp.replace(self.path)
        except OSError as exc:
            log.warning(f"cannot remember when failures were seen ({self.path}): {exc}")
