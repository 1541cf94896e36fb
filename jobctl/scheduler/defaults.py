"""Default schedules: templates that give every owner (a queue, an organisation, a context
source) its own schedule, created idempotently, named after the owner, removed with it.

A template is registered once per owner kind:

    register_template(DefaultTemplate(key="sync-source", owner_kind=CONTEXT_SOURCE,
        job_type="sync-rss", cron="0 */6 * * *", payload={"source_id": "{owner_id}"}))

The API layer (jobctl.api.schedules) knows how to list the owners of each kind and installs
the rendered schedules: for existing owners with `jobctl schedules install-defaults`, and for
a new owner when the code that creates it calls `install_defaults_for(kind, owner)`.

Registered here: the `ping` health check, one per queue (owner kind `queue`), the sync of
every context source every 6 hours (owner kind `context-source`), and for each organisation
with connected social accounts (owner kind `organization`, see `organization_owner`) the hourly
analytics sync and the hourly token-refresh sweep. A template's job type and cron
may be format templates too: the source sync names its type per source kind and staggers its
fire time by a hash of the source id (`stagger_fields`), so 10,000 sources do not fire at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from jobctl.domain.errors import InvalidInputError
from jobctl.domain.schedules import CatchUp

QUEUE = "queue"
ORGANIZATION = "organization"
CONTEXT_SOURCE = "context-source"


@dataclass(frozen=True)
class Owner:
    """Something default schedules belong to; `fields` feed the payload template."""

    kind: str
    id: str
    organization_id: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DefaultTemplate:
    key: str  # stable: stored on each schedule it makes (`template`)
    owner_kind: str
    job_type: str
    cron: str
    payload: Mapping[str, Any] = field(default_factory=dict)  # str values are format templates
    name: str = "{key}:{owner_id}"
    queue: str | None = None  # None: the job type's own queue
    queue_is_owner: bool = False  # the owner is a queue and the job runs on it (ping)
    catch_up: CatchUp = CatchUp.LATEST
    description: str = ""

    def schedule_name(self, owner: Owner) -> str:
        return self.name.format(key=self.key, owner_id=owner.id)

    def _values(self, owner: Owner) -> dict[str, str]:
        return {"owner_id": owner.id, "organization_id": owner.organization_id or "", **owner.fields}

    def render_payload(self, owner: Owner) -> dict[str, Any]:
        values = self._values(owner)
        return {k: (v.format(**values) if isinstance(v, str) else v) for k, v in self.payload.items()}

    def render_job_type(self, owner: Owner) -> str:
        return self.job_type.format(**self._values(owner))

    def render_cron(self, owner: Owner) -> str:
        return self.cron.format(**self._values(owner))


_TEMPLATES: dict[str, DefaultTemplate] = {}


def register_template(template: DefaultTemplate) -> None:
    """Add (or replace, by key) a default template."""
    _TEMPLATES[template.key] = template


def templates(owner_kind: str | None = None) -> list[DefaultTemplate]:
    return [t for t in _TEMPLATES.values() if owner_kind is None or t.owner_kind == owner_kind]


def template(key: str) -> DefaultTemplate:
    try:
        return _TEMPLATES[key]
    except KeyError:
        known = ", ".join(sorted(_TEMPLATES)) or "none"
        raise InvalidInputError(f"no default schedule template {key!r} (known: {known})") from None


def interval_cron(every: timedelta) -> str:
    """A cron expression for "every <interval>": 1-59 s dividing a minute (6-field cron),
    minutes dividing an hour, hours dividing a day, or one day."""
    total = every.total_seconds()
    seconds = int(total)
    if seconds != total or seconds <= 0:
        raise InvalidInputError(f"an interval of {total:g} s is not a whole, positive number of seconds")
    if seconds < 60 and 60 % seconds == 0:
        return "* * * * * *" if seconds == 1 else f"* * * * * */{seconds}"
    minutes, rest = divmod(seconds, 60)
    if not rest and minutes < 60 and 60 % minutes == 0:
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    hours, rest = divmod(seconds, 3600)
    if not rest and hours < 24 and 24 % hours == 0:
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if seconds == 86400:
        return "0 0 * * *"
    raise InvalidInputError(
        f"an interval of {seconds} s does not divide a minute, an hour or a day evenly "
        "(e.g. 30s, 5m, 15m, 1h, 6h, 1d)"
    )


PING = DefaultTemplate(
    key="ping",
    owner_kind=QUEUE,
    job_type="ping",
    cron="*/5 * * * *",
    queue_is_owner=True,
    # A late health check proves nothing: after downtime, wait for the next one.
    catch_up=CatchUp.NONE,
    description="end-to-end check that a worker consumes the queue (skips pile up when none does)",
)
register_template(PING)


SOURCE_SYNC_HOURS = 6


def stagger_fields(owner_id: str, hours: int = SOURCE_SYNC_HOURS) -> dict[str, str]:
    """A deterministic fire offset within an `hours` window, from a hash of the owner id:
    `minute` (0-59) and `hour` (0..hours-1), for a cron like "{minute} {hour}-23/6 * * *".
    sha256 rather than hash(): the same id gives the same time in every process."""
    digest = int.from_bytes(hashlib.sha256(owner_id.encode("utf-8")).digest()[:8], "big")
    offset = digest % (hours * 60)
    return {"minute": str(offset % 60), "hour": str(offset // 60)}


SOURCE_SYNC = DefaultTemplate(
    key="context-sync",
    owner_kind=CONTEXT_SOURCE,
    job_type="{job_type}",  # scrape-website, sync-rss or process-document: the source's kind
    cron="{minute} {hour}-23/" + str(SOURCE_SYNC_HOURS) + " * * *",
    payload={"source_id": "{owner_id}"},
    description="sync of one context source every 6 hours, staggered by a hash of its id",
)
register_template(SOURCE_SYNC)


def organization_owner(organization_id: str) -> Owner:
    """An organisation as the owner of its hourly schedules: the analytics sync at a minute
    from a hash of its id (so 10,000 organisations do not fire at once) and the token-refresh
    sweep 10 minutes before it, so a token that was due is fresh when the sync uses it."""
    minute = int(stagger_fields(organization_id, hours=1)["minute"])
    fields = {"minute": str(minute), "refresh_minute": str((minute - 10) % 60)}
    return Owner(ORGANIZATION, organization_id, organization_id, fields)


ANALYTICS_SYNC = DefaultTemplate(
    key="analytics-sync",
    owner_kind=ORGANIZATION,
    job_type="sync-analytics",
    cron="{minute} * * * *",
    payload={"organization_id": "{owner_id}"},
    description="hourly metrics sync of every connected account of the organisation, staggered",
)
register_template(ANALYTICS_SYNC)

# Token refresh: one sweep per organisation an hour (refresh-token with organization_id), not a
# schedule per account: it refreshes the connected accounts whose token expires within the
# refresh window (24 h), so an organisation costs one cheap job an hour (one query when nothing
# is due) whatever its number of accounts, a new or removed account needs no schedule change,
# and X's 2-hour tokens are renewed every hour as they must be. Each account is still refreshed
# under its own lock, so the sweep and an operator's `enqueue refresh-token` never both refresh.
TOKEN_REFRESH = DefaultTemplate(
    key="token-refresh",
    owner_kind=ORGANIZATION,
    job_type="refresh-token",
    cron="{refresh_minute} * * * *",
    payload={"organization_id": "{owner_id}"},
    description="hourly refresh of the organisation's tokens that expire within 24 h, staggered",
)
register_template(TOKEN_REFRESH)
ACCOUNT_TEMPLATES = (ANALYTICS_SYNC.key, TOKEN_REFRESH.key)
"""The defaults an organisation has while it has connected social accounts."""
