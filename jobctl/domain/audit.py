"""The audit trail of bulk actions: who ran what, on which jobs, and how many it changed.

Each bulk action (`jobs retry --all-failed`, `jobs purge`, and `jobs cancel|retry` given more
than one id) writes one AuditEntry once it ran; a dry run or a declined prompt writes none,
since nothing changed. The actor is who the process runs as (the OS user, or the user behind
sudo) or, for a caller of the HTTP API, its token's name: an account of who asked, not an
authentication (the OS user comes from the environment, as `getpass.getuser` reads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

AUDIT_ID_SAMPLE = 50  # a filter of explicit ids keeps the first 50 and the total


class ActorKind(StrEnum):
    OS_USER = "os-user"
    API_TOKEN = "api-token"


@dataclass(frozen=True)
class Actor:
    name: str
    kind: ActorKind = ActorKind.OS_USER


@dataclass(frozen=True)
class NewAuditEntry:
    actor: Actor
    action: str  # jobs.retry, jobs.purge, jobs.cancel
    filter: dict[str, Any]
    count: int
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: str
    filter: dict[str, Any]
    count: int
    detail: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "actor_kind": self.actor_kind,
            "action": self.action,
            "filter": self.filter,
            "count": self.count,
            "detail": self.detail,
        }


def ids_filter(ids: list[str]) -> dict[str, Any]:
    """The audit filter of an action on explicit ids: a sample of them and how many."""
    return {"ids": ids[:AUDIT_ID_SAMPLE], "id_count": len(ids)}
