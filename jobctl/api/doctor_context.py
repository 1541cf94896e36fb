"""The doctor's checks of the context engine: UNHEALTHY sources, and the fetcher's SSRF guard.

- `sources`: a source turns UNHEALTHY after 5 consecutive failed syncs and its scheduled syncs
  pause until someone looks (nothing fixes it by itself), so each one is a warn that names the
  first few: id, organisation, URL (password masked), last error.
- `fetch`: `[fetch] allow_private_addresses` / JOBCTL_FETCH_ALLOW_PRIVATE lets jobs fetch
  loopback, private and cloud-metadata addresses. It is meant for local use and tests; on a
  shared deployment it opens SSRF, so doctor warns whenever it is on and says where it was set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobctl.api.doctor import OK, WARN, Check, guarded, not_checked
from jobctl.domain.redaction import mask_url, redact
from jobctl.settings import Settings

LISTED = 5  # UNHEALTHY sources in the details (`jobctl sources list --status unhealthy` has them all)
SHOWN = 3  # of which named in the one-line finding
ERROR_SHOWN = 80  # characters of a source's last error in the finding


def context_checks(
    settings: Settings, env: Mapping[str, str], engine: Any, db_problem: str | None
) -> list[Check]:
    """`sources` (needs the database at the current schema: `engine`, else None) and `fetch`."""
    checks = guarded("sources", lambda: sources_check(engine, db_problem))
    checks += guarded("fetch", lambda: fetch_check(settings, env))
    return checks


def sources_check(engine: Any, db_problem: str | None) -> Check:
    if db_problem:
        return not_checked("sources", db_problem)
    if engine is None:
        return Check("sources", OK, "no context sources yet (the embedded database is not created yet)")
    from jobctl.domain.context import UNHEALTHY_AFTER, SourceStatus
    from jobctl.store.context_repo import ContextRepository
    from jobctl.store.doctor_queries import DoctorQueries

    counts = DoctorQueries(engine).source_counts()
    unhealthy = counts.get(SourceStatus.UNHEALTHY.value, 0)
    tally = ", ".join(f"{counts.get(s.value, 0)} {s.value.lower()}" for s in SourceStatus)
    details: dict[str, Any] = {"by_status": {s.value: counts.get(s.value, 0) for s in SourceStatus}}
    if not unhealthy:
        if not counts:
            return Check("sources", OK, "no context sources", None, details)
        return Check("sources", OK, f"no UNHEALTHY context source ({tally})", None, details)
    shown = ContextRepository(engine).list_sources(status=SourceStatus.UNHEALTHY, limit=LISTED)
    details["unhealthy"] = [
        {"id": s.id, "organization_id": s.organization_id, "kind": s.kind.value, "url": mask_url(s.url),
         "consecutive_failures": s.consecutive_failures,
         "last_failure_at": s.last_failure_at.isoformat() if s.last_failure_at else None,
         "last_error": redact(s.last_error) if s.last_error else None}
        for s in shown
    ]  # fmt: skip
    named = "; ".join(_one(s) for s in details["unhealthy"][:SHOWN])
    more = f"; and {unhealthy - SHOWN} more" if unhealthy > SHOWN else ""
    return Check(
        "sources", WARN,
        f"{unhealthy} context source(s) UNHEALTHY after {UNHEALTHY_AFTER} failed syncs in a row, their "
        f"scheduled syncs paused ({tally}): {named}{more}",
        "fix what the last error says, then `jobctl sources enable ID` resumes the source's syncs "
        "(`jobctl sources list --status unhealthy` lists them all)",
        details,
    )  # fmt: skip


def _one(source: dict[str, Any]) -> str:
    error = " ".join(str(source["last_error"] or "no error recorded").split())
    if len(error) > ERROR_SHOWN:
        error = error[: ERROR_SHOWN - 1] + "…"
    return f"{source['id']} ({source['organization_id']}, {source['url']}): {error}"


def fetch_check(settings: Settings, env: Mapping[str, str]) -> Check:
    from jobctl.settings import setting_sources

    caps = f"body cap {_size(settings.fetch_max_bytes)}, {settings.fetch_timeout_s:g} s a fetch"
    details: dict[str, Any] = {
        "allow_private_addresses": settings.fetch_allow_private_addresses,
        "max_bytes": settings.fetch_max_bytes,
        "timeout_s": settings.fetch_timeout_s,
    }
    if not settings.fetch_allow_private_addresses:
        return Check(
            "fetch", OK, f"jobs fetch public http(s) addresses only; private ones are refused ({caps})",
            None, details,
        )  # fmt: skip
    where = setting_sources(settings, env).get("fetch.allow_private_addresses", "default")
    details["set_by"] = where
    if where.startswith("environment"):
        hint = "unset JOBCTL_FETCH_ALLOW_PRIVATE outside local use and tests"
    else:
        file = settings.config_path or "the config file"
        hint = f"set [fetch] allow_private_addresses = false in {file} outside local use and tests"
    return Check(
        "fetch", WARN,
        f"private addresses allowed (set by {where}): jobs may fetch loopback, private-network and "
        f"cloud-metadata addresses, which a shared deployment must refuse ({caps})",
        hint, details,
    )  # fmt: skip


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"
