"""`jobctl doctor`: configuration, connectivity, workers, stuck jobs and why — as a list of checks.

Each check is ok, warn or fail with a one-line finding and, when not ok, what to do. Doctor
is read-only: it reports what recovery, reconciliation or the scheduler would do and never
does it; it does not start the embedded Redis, create the SQLite file or migrate a schema.
A backend that is down fails its own check (masked URL, the reason); checks that need it
say they were not checked; the others still run. Nothing raises out of `run_doctor`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobctl.domain.errors import ConfigError
from jobctl.domain.redaction import mask_url, redact
from jobctl.settings import Settings

if TYPE_CHECKING:
    from jobctl.store.doctor_queries import DatabaseProbe
    from jobctl.worker.doctor_probe import RedisProbe

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}
SLOW_DATABASE_MS = 100.0  # a round trip slower than this makes every job's two writes slow
SLOW_REDIS_MS = 50.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    finding: str  # one line, secrets masked
    hint: str | None = None  # what to do, when not ok
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "finding": self.finding, "hint": self.hint,
            "details": self.details,
        }  # fmt: skip


@dataclass(frozen=True)
class DoctorReport:
    checks: list[Check]

    @property
    def status(self) -> str:
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default=OK)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "checks": [c.to_json() for c in self.checks]}


def not_checked(name: str, why: str) -> Check:
    return Check(name, WARN, f"not checked: {why}", "see the database and redis checks above")


def _one_line(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    return redact(" ".join(str(message).split()))


def guarded(name: str, run: Callable[[], Check | list[Check]]) -> list[Check]:
    """A check that breaks (a backend dropping mid-way, a bug) fails itself, not the command."""
    try:
        out = run()
    except Exception as exc:  # doctor reports every problem as a check, never a traceback
        return [Check(name, FAIL, _one_line(exc), "see the finding; run the check again")]
    return out if isinstance(out, list) else [out]


def run_doctor(
    config_path: Path | None,
    env: Mapping[str, str],
    *,
    overdue_after: timedelta = timedelta(minutes=5),
    now: datetime | None = None,
) -> DoctorReport:
    """Every check, in order: config, database, Redis, then workers, queues and stuck jobs,
    then the context engine (unhealthy sources, the fetcher's private-address setting), then
    the social accounts (token keys, plaintext or unreadable tokens, NEEDS_REAUTH), then
    retention (the pruned tables' sizes and the last sweep)."""
    from jobctl.domain.timeparse import utcnow
    from jobctl.settings import load_settings

    try:
        settings = load_settings(config_path, env)
    except ConfigError as exc:
        return DoctorReport(
            [
                Check("config", FAIL, exc.message, "fix the file or variable it names"),
                not_checked("backends", "the configuration does not load"),
            ]
        )
    checks = guarded("config", lambda: config_check(settings, env))
    from jobctl.store.doctor_queries import DatabaseProbe, probe_database
    from jobctl.worker.doctor_probe import RedisProbe, probe_redis

    try:
        db = probe_database(settings.effective_database_url)
    except Exception as exc:  # the probe reports what it knows; anything else is one line too
        db = DatabaseProbe(backend="unknown", error=_one_line(exc))
    checks += guarded("database", lambda: database_check(settings, db))
    try:
        redis = probe_redis(settings)
    except Exception as exc:
        url = mask_url(settings.redis_url) if settings.redis_url else "the embedded Redis"
        redis = RedisProbe(url=url, embedded=settings.uses_embedded_redis, error=_one_line(exc))
    checks += guarded("redis", lambda: redis_check(redis))
    engine = db.engine if db.engine is not None and db.schema_current else None
    try:
        from jobctl.api.doctor_jobs import JobChecks

        at = now or utcnow()
        jobs = JobChecks(settings, engine, redis.client, at, overdue_after)
        jobs.db_problem = _db_problem(db, embedded=settings.uses_embedded_database)
        jobs.redis_problem = _redis_problem(redis)
        checks += jobs.run()
        from jobctl.api.doctor_context import context_checks

        checks += context_checks(settings, env, engine, jobs.db_problem)
        from jobctl.api.doctor_accounts import account_checks

        checks += account_checks(settings, engine, jobs.db_problem)
        from jobctl.api.doctor_retention import retention_check

        checks += guarded("retention", lambda: retention_check(
            settings, engine, redis.client, at, db_problem=jobs.db_problem, redis_problem=jobs.redis_problem,
        ))  # fmt: skip
    finally:
        if db.engine is not None:
            db.engine.dispose()
        if redis.client is not None:
            redis.client.close()
    return DoctorReport(checks)


def config_check(settings: Settings, env: Mapping[str, str]) -> Check:
    from jobctl.settings import default_config_path, setting_sources

    sources = setting_sources(settings, env)
    if settings.config_path is not None:
        where = f"config file {settings.config_path}"
    else:
        where = f"no config file ({default_config_path(env)} absent)"
    from_env = [k for k, v in sources.items() if v.startswith("environment")]
    from_file = [k for k, v in sources.items() if v == "config file"]
    parts = [where]
    if from_file:
        parts.append(f"from the file: {', '.join(from_file)}")
    parts.append(f"from the environment: {', '.join(from_env) if from_env else 'nothing'}")
    redis = mask_url(settings.redis_url) if settings.redis_url else f"embedded (in {settings.data_dir})"
    parts.append(f"database {mask_url(settings.effective_database_url)}; Redis {redis}")
    details = {"settings": settings.describe(), "sources": sources}
    finding = "; ".join(parts)
    pg = settings.effective_database_url.startswith("postgresql")
    if pg and settings.uses_embedded_redis:
        return Check(
            "config", WARN,
            f"{finding}; a shared PostgreSQL database with this host's private embedded Redis:"
            " workers on other hosts never see these jobs",
            "set JOBCTL_REDIS_URL (or redis_url) to the Redis every host shares", details,
        )  # fmt: skip
    return Check("config", OK, finding, None, details)


def database_check(settings: Settings, db: DatabaseProbe) -> Check:
    url = mask_url(settings.effective_database_url)
    kind = "embedded SQLite" if settings.uses_embedded_database else db.backend
    details: dict[str, Any] = {
        "url": url, "embedded": settings.uses_embedded_database, "revision": db.revision,
        "head": db.head, "connect_ms": db.connect_ms, "latency_ms": db.latency_ms,
    }  # fmt: skip
    if db.error is not None:
        return Check(
            "database", FAIL, redact(db.error),
            "check that the database server runs and that JOBCTL_DATABASE_URL (or database_url) is right",
            details,
        )  # fmt: skip
    if db.missing_file is not None:
        if settings.uses_embedded_database:
            return Check("database", OK, f"{kind} {url}: not created yet (the first command that needs it "
                         "creates it)", None, details)  # fmt: skip
        return Check("database", FAIL, f"{kind} {url}: the file does not exist",
                     "run `jobctl db upgrade` to create it", details)  # fmt: skip
    timing = f"connect {db.connect_ms:g} ms, round trip {db.latency_ms:g} ms"
    if db.schema_newer:
        return Check("database", FAIL, f"{kind} {url}: schema at {db.revision}, newer than this jobctl "
                     f"({db.head})", "upgrade jobctl to the version that wrote it", details)  # fmt: skip
    if not db.schema_current:
        shown = db.revision or "nothing (empty database)"
        finding = f"{kind} {url} reachable ({timing}); schema at {shown}, this jobctl needs {db.head}"
        if settings.uses_embedded_database:
            return Check(
                "database",
                WARN,
                finding,
                "the next command upgrades it automatically (or run `jobctl db upgrade`)",
                details,
            )
        return Check("database", FAIL, finding, "run `jobctl db upgrade`", details)
    finding = f"{kind} {url} reachable ({timing}); schema at {db.revision} (current)"
    if db.latency_ms is not None and db.latency_ms > SLOW_DATABASE_MS:
        return Check("database", WARN, f"{finding}; slow: every job writes its row at least twice",
                     "check the network and the database server's load", details)  # fmt: skip
    return Check("database", OK, finding, None, details)


def redis_check(probe: RedisProbe) -> Check:
    kind = "embedded" if probe.embedded else "configured"
    details: dict[str, Any] = {
        "url": probe.url, "embedded": probe.embedded, "running": probe.running, "version": probe.version,
        "latency_ms": probe.latency_ms, "maxmemory": probe.maxmemory,
        "maxmemory_policy": probe.maxmemory_policy,
    }  # fmt: skip
    if not probe.running:
        return Check(
            "redis", WARN,
            f"the embedded Redis ({probe.url}) is not running, so no worker or scheduler runs on it"
            " (doctor does not start it)",
            "start a worker (`jobctl worker --queue Q`): it starts the embedded Redis", details,
        )  # fmt: skip
    if probe.error is not None:
        return Check(
            "redis", FAIL, redact(probe.error),
            "check that Redis runs there and that JOBCTL_REDIS_URL (or redis_url) is right", details,
        )  # fmt: skip
    finding = f"Redis {probe.version} at {probe.url} ({kind}), round trip {probe.latency_ms:g} ms"
    if not probe.version_ok:
        return Check("redis", FAIL, f"{finding}: older than 6.0.6, which jobctl needs (LPOS)",
                     "upgrade Redis", details)  # fmt: skip
    if probe.maxmemory and probe.maxmemory_policy not in (None, "noeviction"):
        return Check(
            "redis", WARN,
            f"{finding}; maxmemory-policy {probe.maxmemory_policy}: under memory pressure Redis evicts"
            " queued jobs (the reconciler re-enqueues them, late)",
            "set maxmemory-policy noeviction (or drop maxmemory)", details,
        )  # fmt: skip
    if probe.latency_ms is not None and probe.latency_ms > SLOW_REDIS_MS:
        return Check("redis", WARN, f"{finding}; slow", "check the network and Redis's load", details)
    return Check("redis", OK, finding, None, details)


def _db_problem(db: DatabaseProbe, *, embedded: bool) -> str | None:
    if db.error is not None:
        return "the database is unreachable"
    if db.missing_file is not None:
        # The embedded file is created on first use: no file, no jobs (the job checks say so).
        return None if embedded else "the database does not exist yet"
    if not db.schema_current:
        return "the database schema is not current"
    return None


def _redis_problem(probe: RedisProbe) -> str | None:
    if not probe.running:
        return "the embedded Redis is not running"
    if probe.error is not None or probe.client is None:
        return "Redis is unreachable"
    return None
