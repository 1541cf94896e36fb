"""Schedules: add, list, show, pause, resume, trigger, remove, default schedules, and running
the scheduler — for the CLI, the dashboard and library users.

    api = JobctlAPI(settings); schedules = ScheduleAPI(api)
    schedules.list() -> list[ScheduleView]          # record + plain-English cron + next 3 runs
    schedules.pause(name) / resume(name) -> ScheduleView
    schedules.trigger(name) -> TriggerResult        # fire now, deduplicated per second

Schedules are validated on write exactly as an enqueue would be (type, processor, queue,
payload, organisation), plus the cron expression and the time zone; every firing then goes
through JobctlAPI.enqueue_many with the deterministic id `{job-type}-{schedule-id}-{epoch}`.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from jobctl.api.jobs import EnqueueRequest, JobctlAPI
from jobctl.domain.errors import InvalidInputError, InvalidTransitionError, ProcessorNotAvailableError
from jobctl.domain.records import JobRecord
from jobctl.domain.schedules import (
    CatchUp,
    ClaimResult,
    FiringRecord,
    NewSchedule,
    ScheduleNotFoundError,
    ScheduleRecord,
    check_schedule_name,
    firing_job_id,
    new_schedule_id,
)
from jobctl.domain.timeparse import utcnow
from jobctl.scheduler import defaults
from jobctl.scheduler.cron import CronSchedule
from jobctl.scheduler.describe import describe
from jobctl.settings import Settings
from jobctl.store.schedules_repo import ScheduleRepository
from jobctl.store.schedules_sql import DEFINITION

log = logging.getLogger("jobctl.scheduler")

OwnerLister = Callable[[JobctlAPI], Sequence[defaults.Owner]]
_OWNER_LISTERS: dict[str, OwnerLister] = {}


def register_owner_kind(kind: str, lister: OwnerLister) -> None:
    """Tell install-defaults how to list the existing owners of one kind (sources, organisations)."""
    _OWNER_LISTERS[kind] = lister


register_owner_kind(
    defaults.QUEUE, lambda api: [defaults.Owner(defaults.QUEUE, q) for q in api.settings.queues]
)


def _context_sources(api: JobctlAPI) -> Sequence[defaults.Owner]:
    from jobctl.api.context import active_source_owners

    return active_source_owners(api)


register_owner_kind(defaults.CONTEXT_SOURCE, _context_sources)


def _organizations(api: JobctlAPI) -> Sequence[defaults.Owner]:
    from jobctl.api.accounts import connected_organization_owners

    return connected_organization_owners(api)


register_owner_kind(defaults.ORGANIZATION, _organizations)


@dataclass(frozen=True)
class ScheduleView:
    """A schedule as operators see it: the record, its cron in English, its next runs."""

    record: ScheduleRecord
    description: str | None  # None: no plain-English form; show record.cron
    next_runs: list[datetime]  # empty while paused

    def to_json(self) -> dict[str, Any]:
        return {
            **self.record.to_json(),
            "description": self.description,
            "next_runs": [t.isoformat() for t in self.next_runs],
        }


@dataclass(frozen=True)
class TriggerResult:
    job: JobRecord
    deduplicated: bool  # True: this second was already fired; `job` is that firing's job


@dataclass(frozen=True)
class DefaultResult:
    name: str
    template: str
    owner: str
    # created, updated, unchanged, conflict (a schedule of that name is not this default), or
    # unavailable (the template's job type has no processor installed here: nothing written)
    action: str


@dataclass
class ScheduleAPI:
    api: JobctlAPI
    upcoming: int = 3
    _crons: dict[tuple[str, str], CronSchedule] = field(default_factory=dict, repr=False)

    @cached_property
    def repo(self) -> ScheduleRepository:
        with self.api.backends.errors():
            return ScheduleRepository(self.api.backends.engine)

    # -- writing -------------------------------------------------------------------------------

    def validate(self, name: str, job_type: str, cron: str, payload: dict[str, Any] | None = None, *,
                 organization_id: str | None = None, queue: str | None = None, timezone: str = "UTC",
                 catch_up: str | CatchUp = CatchUp.LATEST, enabled: bool = True) -> NewSchedule:  # fmt: skip
        """Check everything a schedule needs, write nothing; the normalised NewSchedule."""
        check_schedule_name(name)
        self._cron(cron.strip(), timezone)
        try:
            policy = CatchUp(str(catch_up).lower())
        except ValueError:
            raise InvalidInputError(f"unknown catch-up policy {catch_up!r} (use latest or none)") from None
        schedule_id = new_schedule_id()
        try:
            spec = self.api.registry.runnable_spec(job_type)
        except ProcessorNotAvailableError as exc:
            raise ProcessorNotAvailableError(
                exc.message.replace("nothing was enqueued", "no schedule was written")
            ) from None
        job_id = firing_job_id(spec.name, schedule_id, datetime(2100, 1, 1, tzinfo=UTC))  # longest id
        req = EnqueueRequest(
            spec.name, dict(payload or {}), organization_id, queue, job_id, schedule_id=schedule_id
        )
        job = self.api.prepare(req, utcnow())
        return NewSchedule(
            id=schedule_id, name=name, job_type=job.type, cron=cron.strip(), payload=job.payload,
            organization_id=job.organization_id, queue=queue, timezone=timezone, enabled=enabled,
            catch_up=policy,
        )  # fmt: skip

    def add(self, name: str, job_type: str, cron: str, payload: dict[str, Any] | None = None,
            **options: Any) -> ScheduleView:  # fmt: skip
        """Validate and create a schedule (options: organization_id, queue, timezone, catch_up, enabled)."""
        new = self.validate(name, job_type, cron, payload, **options)
        with self.api.backends.errors():
            return self.view(self.repo.insert(new, utcnow()))

    def remove(self, name: str) -> ScheduleRecord:
        record = self.get(name)
        with self.api.backends.errors():
            if not self.repo.delete(record.id):
                raise ScheduleNotFoundError(name)
        return record

    def pause(self, name: str) -> ScheduleView:
        return self._set_enabled(name, False)

    def resume(self, name: str) -> ScheduleView:
        """Enable again; ticks that passed while paused are not caught up."""
        return self._set_enabled(name, True)

    def _set_enabled(self, name: str, enabled: bool) -> ScheduleView:
        record = self.get(name)
        with self.api.backends.errors():
            if record.enabled != enabled:
                self.repo.set_enabled(record.id, enabled, utcnow())
        return self.view(self.get(name))

    def trigger(self, name: str) -> TriggerResult:
        """Fire now, outside the cron: still one job per schedule and second, whoever asks."""
        record = self.get(name)
        now = utcnow().replace(microsecond=0)
        job_id = firing_job_id(record.job_type, record.id, now)
        request = self._request(record, now, job_id)
        self.api.prepare(request, now)  # a schedule that cannot run fails here, recording nothing
        with self.api.backends.errors():
            result, _ = self.repo.claim_tick(
                record.id, now, job_id=job_id, now=now, reason="triggered by an operator",
                holder="jobctl schedules trigger", manual=True,
            )  # fmt: skip
            if result == ClaimResult.INACTIVE:
                raise ScheduleNotFoundError(name)
            if result == ClaimResult.DUPLICATE:
                firing = self.repo.firing(record.id, now)
                if firing is None or firing.job_id is None:
                    why = firing.outcome.value if firing else "handled"
                    raise InvalidTransitionError(
                        f"the tick of {name!r} at {now.isoformat()} was {why}; try again"
                    )
                return TriggerResult(self.api.get_job(firing.job_id), deduplicated=True)
        job = self.fire(record, now, job_id)
        with self.api.backends.errors():
            self.repo.mark_written(record.id, now)
        return TriggerResult(job, deduplicated=False)

    def fire(self, record: ScheduleRecord, fire_time: datetime, job_id: str) -> JobRecord:
        """Enqueue one firing through the producer path (row first, then RQ; idempotent by id).
        A fire time in the past means "run now": the producer enqueues it directly."""
        return self.api.enqueue_many([self._request(record, fire_time, job_id)])[0]

    @staticmethod
    def _request(record: ScheduleRecord, fire_time: datetime, job_id: str) -> EnqueueRequest:
        return EnqueueRequest(
            record.job_type, dict(record.payload), record.organization_id, record.queue,
            job_id=job_id, at=fire_time, schedule_id=record.id,
        )  # fmt: skip

    # -- reading ---------------------------------------------------------------------------------

    def get(self, name: str) -> ScheduleRecord:
        with self.api.backends.errors():
            record = self.repo.get_by_name(name)
        if record is None:
            raise ScheduleNotFoundError(name)
        return record

    def list(self) -> builtins.list[ScheduleView]:
        """Every schedule by name, paused ones included."""
        with self.api.backends.errors():
            return [self.view(r) for r in self.repo.list()]

    def show(self, name: str, limit: int = 20) -> tuple[ScheduleView, builtins.list[FiringRecord]]:
        """The schedule and its latest firings (enqueued with job status, skipped, missed, error)."""
        record = self.get(name)
        with self.api.backends.errors():
            return self.view(record), self.repo.history(record.id, limit)

    def view(self, record: ScheduleRecord, now: datetime | None = None) -> ScheduleView:
        cron = self._cron(record.cron, record.timezone)
        runs: builtins.list[datetime] = []
        if record.enabled:
            since = max(record.active_since, record.last_tick_at or record.active_since, now or utcnow())
            runs = cron.upcoming(since, self.upcoming)
        return ScheduleView(record, describe(record.cron, record.timezone), runs)

    def _cron(self, expression: str, timezone: str) -> CronSchedule:
        key = (expression, timezone)
        if key not in self._crons:
            self._crons[key] = CronSchedule(expression, timezone)
        return self._crons[key]

    # -- default schedules -----------------------------------------------------------------------

    def install_defaults(self, cron_overrides: dict[str, str] | None = None) -> builtins.list[DefaultResult]:
        """Create (or bring up to date) every registered default for every existing owner."""
        results: builtins.list[DefaultResult] = []
        for kind, lister in _OWNER_LISTERS.items():
            if not defaults.templates(kind):
                continue
            for owner in lister(self.api):
                results += self.install_defaults_for(owner, cron_overrides)
        return results

    def install_defaults_for(
        self, owner: defaults.Owner, cron_overrides: dict[str, str] | None = None
    ) -> builtins.list[DefaultResult]:
        """The defaults of one owner (call it when the owner is created). Idempotent. A template
        whose job type cannot run here (its processor is not installed) is reported as
        `unavailable` and skipped, so creating the owner still works."""
        results = []
        for tpl in defaults.templates(owner.kind):
            cron = (cron_overrides or {}).get(tpl.key) or tpl.render_cron(owner)
            name = tpl.schedule_name(owner)
            try:
                self.api.registry.runnable_spec(tpl.render_job_type(owner))
            except ProcessorNotAvailableError:
                results.append(DefaultResult(name, tpl.key, owner.id, "unavailable"))
                continue
            new = self.validate(
                name, tpl.render_job_type(owner), cron, tpl.render_payload(owner),
                organization_id=owner.organization_id,
                queue=owner.id if tpl.queue_is_owner else tpl.queue, catch_up=tpl.catch_up,
            )  # fmt: skip
            new = NewSchedule(
                **{**new.__dict__, "owner_kind": owner.kind, "owner_id": owner.id, "template": tpl.key}
            )
            results.append(DefaultResult(name, tpl.key, owner.id, self._upsert_default(new)))
        return results

    def _upsert_default(self, new: NewSchedule) -> str:
        with self.api.backends.errors():
            old = self.repo.get_by_name(new.name)
            if old is None:
                self.repo.insert(new, utcnow())
                return "created"
            if (old.template, old.owner_kind, old.owner_id) != (new.template, new.owner_kind, new.owner_id):
                return "conflict"
            if all(getattr(old, k) == getattr(new, k) for k in DEFINITION):
                return "unchanged"
            self.repo.redefine(old.id, new, utcnow())
            return "updated"

    def remove_defaults_for(
        self, owner_kind: str, owner_id: str, templates: Sequence[str] | None = None
    ) -> builtins.list[str]:
        """Remove the default schedules of an owner (call it when the owner is deleted), or only
        those of the given template keys."""
        with self.api.backends.errors():
            owned = self.repo.list(owner=(owner_kind, owner_id))
            if templates is not None:
                owned = [r for r in owned if r.template in templates]
            for record in owned:
                self.repo.delete(record.id)
        return [r.name for r in owned]


# -- running the scheduler ---------------------------------------------------------------------


def run_scheduler(
    settings: Settings,
    *,
    once: bool = False,
    health_port: int | None = None,
    health_host: str = "127.0.0.1",
    lease_ttl_s: float = 10.0,
    health_interval_s: float = 60.0,
    name: str | None = None,
) -> bool:
    """Run the scheduler in this process until SIGTERM/SIGINT (or one pass with `once`).

    Returns True if this process led (fired what was due) at least once; with `once`, False
    means another scheduler holds the lease and this one did nothing.
    """
    from jobctl.scheduler.service import serve

    api = JobctlAPI(settings)
    try:
        schedules = ScheduleAPI(api)
        with api.backends.errors():
            repo = schedules.repo  # connects and checks the schema before anything else
            api.backends.producer  # noqa: B018 - reach Redis now: fail fast, clearly
            redis_url = api.backends.redis_url
        from jobctl.api.retention import open_sweep

        return serve(
            repo, redis_url, schedules.fire, once=once, health_port=health_port, health_host=health_host,
            lease_ttl_s=lease_ttl_s, health_interval_s=health_interval_s, name=name,
            retention=lambda conn, holder: open_sweep(api, conn, holder),
        )  # fmt: skip
    finally:
        api.close()
