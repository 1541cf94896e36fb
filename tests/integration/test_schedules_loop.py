"""The scheduler loop in-process on real Redis and databases, with the clock passed in: skips,
catch-up, the fence against a stale leader, repair, triggers, errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from jobctl.api import JobctlAPI
from jobctl.api.schedules import ScheduleAPI
from jobctl.domain.schedules import ClaimResult, FiringOutcome, firing_job_id
from jobctl.domain.status import JobStatus
from jobctl.processors.registry import Registry
from jobctl.queue.lease import RedisLease
from jobctl.scheduler.loop import Scheduler, SchedulerConfig
from jobctl.scheduler.planning import Due

Q = "analytics-sync"


class Clock:
    """Wall clock and monotonic clock under the test's control."""

    def __init__(self, start: datetime) -> None:
        self.now, self.mono = start, 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def schedules(api: JobctlAPI) -> ScheduleAPI:
    return ScheduleAPI(api)


@pytest.fixture
def conn(redis_url: str) -> Iterator[redis.Redis]:
    c = redis.Redis.from_url(redis_url)
    yield c
    c.close()


def past_minute() -> datetime:
    """A minute boundary 10 minutes ago: fire times in the past, as they are in production."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)


def backdate(schedules: ScheduleAPI, name: str, active_since: datetime) -> None:
    """Make a new schedule active since a past time (pause, then resume "then")."""
    sid = schedules.get(name).id
    schedules.repo.set_enabled(sid, False, active_since)
    schedules.repo.set_enabled(sid, True, active_since)


def make(schedules: ScheduleAPI, conn: redis.Redis, clock: Clock, holder: str = "a", **cfg: Any) -> Scheduler:
    lease = RedisLease(conn, "scheduler", holder, ttl_s=cfg.pop("ttl", 30.0))
    config = SchedulerConfig(**cfg)
    return Scheduler(schedules.repo, lease, schedules.fire, config, clock=clock, monotonic=clock.monotonic)


def outcomes(schedules: ScheduleAPI, name: str) -> list[tuple[str, str]]:
    _, history = schedules.show(name, 100)
    return [(f.fire_time.strftime("%H:%M"), f.outcome.value) for f in reversed(history)]


def test_a_job_that_runs_three_minutes_makes_the_next_ticks_skip(
    api: JobctlAPI, schedules: ScheduleAPI, conn: redis.Redis
) -> None:
    t0 = past_minute()
    schedules.add("every-minute", "ping", "* * * * *", queue=Q)
    backdate(schedules, "every-minute", t0 - timedelta(seconds=30))
    clock = Clock(t0 + timedelta(seconds=1))
    sched = make(schedules, conn, clock)
    sched.step()
    first = firing_job_id("ping", schedules.get("every-minute").id, t0)
    row = api.get_job(first)
    assert row.scheduled_for == t0 and row.schedule_id == schedules.get("every-minute").id
    assert first.encode() in conn.lrange(f"rq:queue:{Q}", 0, -1)  # a past fire time: enqueued at once
    assert api.backends.repo.claim(first, "w1", clock.now) == 1  # a worker runs it for 3 minutes
    for _ in range(2):
        clock.advance(60)
        sched.step()
    assert api.backends.repo.complete(first, 1, {"pong": True}, clock.now)
    clock.advance(60)
    sched.step()
    hm = [(t0 + timedelta(minutes=i)).strftime("%H:%M") for i in range(4)]
    assert outcomes(schedules, "every-minute") == [
        (hm[0], "enqueued"), (hm[1], "skipped"), (hm[2], "skipped"), (hm[3], "enqueued")
    ]  # fmt: skip
    view = schedules.list()[0]
    assert view.record.skip_count == 2 and view.record.last_job_status == JobStatus.PENDING
    assert sched.metrics.firings["skipped"] == 2 and sched.metrics.firings["enqueued"] == 2


@pytest.mark.parametrize("policy", ["latest", "none"])
def test_two_hours_down_on_an_hourly_schedule(schedules: ScheduleAPI, conn: redis.Redis, policy: str) -> None:
    schedules.add("hourly", "ping", "0 * * * *", queue=Q, catch_up=policy)
    first_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    backdate(schedules, "hourly", first_hour - timedelta(minutes=1))
    clock = Clock(first_hour + timedelta(hours=2, minutes=30))  # 3 ticks passed while no scheduler ran
    sched = make(schedules, conn, clock)
    for _ in range(3):
        sched.step()  # a burst would show here
    expected = "enqueued" if policy == "latest" else "missed"
    assert outcomes(schedules, "hourly") == [((first_hour + timedelta(hours=2)).strftime("%H:%M"), expected)]
    jobs = schedules.api.list_jobs(api_filter(schedules))
    assert len(jobs) == (1 if policy == "latest" else 0)
    assert schedules.get("hourly").last_tick_at == first_hour + timedelta(hours=2)


def api_filter(schedules: ScheduleAPI) -> Any:
    from jobctl.domain.records import JobFilter

    return JobFilter(schedule_id=schedules.get("hourly").id, limit=0)


def test_a_stale_leader_is_fenced_off(schedules: ScheduleAPI, conn: redis.Redis) -> None:
    t0 = past_minute()
    sid = schedules.add("every-minute", "ping", "* * * * *", queue=Q).record.id
    backdate(schedules, "every-minute", t0 - timedelta(seconds=30))
    clock_a, clock_b = Clock(t0 + timedelta(seconds=1)), Clock(t0 + timedelta(seconds=1))
    a = make(schedules, conn, clock_a, "a", ttl=0.3)
    b = make(schedules, conn, clock_b, "b", ttl=0.3)
    a.step()
    assert a.is_leader and not (b.step() and b.is_leader)
    time.sleep(0.4)  # "a" is paused past its lease (its own clock does not move: it does not know)
    clock_b.advance(60)
    b.step()
    assert b.is_leader and b.token is not None and a.token is not None and b.token > a.token
    # "a" wakes up still believing it leads, with a plan for a tick nobody handled yet: refused.
    assert a.is_leader
    tick = t0 + timedelta(minutes=2)
    assert not a._handle(schedules.get("every-minute"), Due(tick, FiringOutcome.ENQUEUED, 0, timedelta()))
    assert not a.is_leader
    # ... and from then on it acts on nothing (the tick b handled, or any other)
    assert not a._handle(schedules.get("every-minute"), Due(tick, FiringOutcome.ENQUEUED, 0, timedelta()))
    # one outcome per tick: a's (t0) and b's (t0+1, skipped: a's job is still PENDING)
    history = schedules.show("every-minute")[1]
    assert [(f.fire_time, f.recorded_by) for f in history] == [(t0 + timedelta(minutes=1), "b"), (t0, "a")]
    assert schedules.repo.firing(sid, t0 + timedelta(minutes=2)) is None


def test_repair_enqueues_a_firing_whose_job_was_never_written(
    api: JobctlAPI, schedules: ScheduleAPI, conn: redis.Redis
) -> None:
    t0 = past_minute()
    rec = schedules.add("every-minute", "ping", "* * * * *", queue=Q).record
    job_id = firing_job_id("ping", rec.id, t0)
    # A scheduler recorded the firing and died before writing the job.
    assert schedules.repo.claim_tick(rec.id, t0, job_id=job_id, now=t0, token=1)[0] == ClaimResult.CLAIMED
    clock = Clock(t0 + timedelta(seconds=30))
    sched = make(schedules, conn, clock, repair_settle_s=5.0, repair_window_s=3600.0)
    assert sched.repair(clock.now) == 1
    assert api.get_job(job_id).status == JobStatus.PENDING
    assert sched.repair(clock.now) == 0  # written now: never again, even if the job is deleted later


def test_trigger_is_deduplicated_within_a_second(schedules: ScheduleAPI) -> None:
    schedules.add("nightly", "ping", "0 3 * * *", queue=Q)
    while datetime.now(UTC).microsecond > 600_000:  # both calls must land in the same second
        time.sleep(0.05)
    first, second = schedules.trigger("nightly"), schedules.trigger("nightly")
    assert not first.deduplicated and second.deduplicated and first.job.id == second.job.id
    _, history = schedules.show("nightly")
    assert [(f.outcome, f.manual) for f in history] == [(FiringOutcome.ENQUEUED, True)]
    assert schedules.get("nightly").last_tick_at is None  # a trigger is not the cron tick


def test_a_firing_that_cannot_be_enqueued_is_recorded_as_an_error(
    api: JobctlAPI, schedules: ScheduleAPI, conn: redis.Redis
) -> None:
    t0 = past_minute()
    schedules.add("every-minute", "ping", "* * * * *", queue=Q)
    backdate(schedules, "every-minute", t0 - timedelta(seconds=30))
    # The ping processor is gone (plugin uninstalled) by the time the tick fires.
    broken = ScheduleAPI(JobctlAPI(api.settings, registry=Registry(api.registry.specs, {}, {})))
    clock = Clock(t0 + timedelta(seconds=1))
    sched = Scheduler(broken.repo, RedisLease(conn, "scheduler", "x", 30.0), broken.fire, clock=clock)
    sched.step()
    _, history = schedules.show("every-minute")
    assert history[0].outcome == FiringOutcome.ERROR and "no processor installed" in (history[0].reason or "")
    assert sched.metrics.firings["error"] == 1
    broken.api.close()


def test_a_schedule_of_a_type_without_a_processor_is_refused(api: JobctlAPI, schedules: ScheduleAPI) -> None:
    from jobctl.domain.errors import ProcessorNotAvailableError

    bare = ScheduleAPI(JobctlAPI(api.settings, registry=Registry(api.registry.specs, {}, {})))
    with pytest.raises(ProcessorNotAvailableError, match="no schedule was written"):
        bare.add("bad", "sync-analytics", "* * * * *", payload={"organization_id": "acme"})
    bare.api.close()
    assert schedules.list() == []


def test_health_reports_role_and_next_runs(schedules: ScheduleAPI, conn: redis.Redis) -> None:
    schedules.add("every-minute", "ping", "* * * * *", queue=Q, timezone="Europe/Berlin")
    clock = Clock(datetime.now(UTC))
    leader, standby = make(schedules, conn, clock, "a"), make(schedules, conn, clock, "b")
    leader.step()
    standby.step()
    ok, details = leader.health()
    assert ok and details["role"] == "leader" and "every-minute" in details["next_runs"]  # type: ignore[operator]
    assert standby.health()[1]["role"] == "standby"
    assert "1 active schedule(s); next: every-minute at " in leader.health_line()
    families = {m.name: m for m in leader.metrics.collect()}
    assert families["jobctl_scheduler_leader"].samples[0].value == 1
    leader.resign()
    assert standby.step() is not None and standby.is_leader  # a resigned lease is taken at once


def test_a_leader_recovers_when_redis_lost_its_token_counter(
    schedules: ScheduleAPI, conn: redis.Redis
) -> None:
    t0 = past_minute()
    schedules.add("every-minute", "ping", "* * * * *", queue=Q)
    backdate(schedules, "every-minute", t0 - timedelta(seconds=30))
    clock = Clock(t0 + timedelta(seconds=1))
    for _ in range(3):  # three leaders in turn, a tick each: the database fence is at token 3
        sched = make(schedules, conn, clock)
        sched.step()
        sched.resign()
        clock.advance(60)
    assert schedules.repo.fence_token() == 3
    conn.flushdb()  # Redis restarted without its data: the next token would be 1
    sched = make(schedules, conn, clock)
    sched.step()
    assert sched.is_leader and sched.token == 4  # raised past the fence, not fenced out forever
    sched.step()  # the tick refused with token 1 is handled on the next pass
    assert len(outcomes(schedules, "every-minute")) == 4
