"""Default schedules: a template per owner kind, installed idempotently, named after the owner,
removed with it (the ping per queue is the one registered today)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jobctl.api import JobctlAPI
from jobctl.api.schedules import ScheduleAPI, register_owner_kind
from jobctl.domain.errors import InvalidInputError
from jobctl.scheduler import defaults
from jobctl.scheduler.defaults import ORGANIZATION, DefaultTemplate, Owner


@pytest.fixture
def schedules(api: JobctlAPI) -> ScheduleAPI:
    return ScheduleAPI(api)


def test_ping_per_queue(schedules: ScheduleAPI) -> None:
    first = schedules.install_defaults({"ping": "*/5 * * * *"})
    assert sorted((r.name, r.action) for r in first) == [
        (f"ping:{q}", "created") for q in ("analytics-sync", "content-generation", "context-scraping")
    ]
    assert {r.action for r in schedules.install_defaults({"ping": "*/5 * * * *"})} == {"unchanged"}
    view = next(v for v in schedules.list() if v.record.name == "ping:analytics-sync")
    assert view.record.queue == "analytics-sync" and view.record.owner_kind == "queue"
    assert view.description == "every 5 minutes"


def test_a_template_for_another_owner_kind(schedules: ScheduleAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    template = DefaultTemplate(
        key="hourly-check", owner_kind=ORGANIZATION, job_type="ping", cron="0 * * * *",
        payload={"sleep_s": 0}, name="{key}:{owner_id}", queue="analytics-sync",
    )  # fmt: skip
    monkeypatch.setitem(defaults._TEMPLATES, template.key, template)
    acme = Owner(ORGANIZATION, "acme", organization_id="acme")
    created = schedules.install_defaults_for(acme)  # what creating an organisation will call
    assert [(r.name, r.action) for r in created] == [("hourly-check:acme", "created")]
    record = schedules.get("hourly-check:acme")
    assert record.organization_id == "acme" and record.payload["organization_id"] == "acme"
    assert (record.owner_kind, record.owner_id, record.template) == (ORGANIZATION, "acme", "hourly-check")
    assert schedules.install_defaults_for(acme)[0].action == "unchanged"
    # install-defaults reaches existing owners once their kind can be listed
    monkeypatch.setattr("jobctl.api.schedules._OWNER_LISTERS", {})
    register_owner_kind(
        ORGANIZATION, lambda api: [acme, Owner(ORGANIZATION, "globex", organization_id="globex")]
    )
    assert sorted((r.name, r.action) for r in schedules.install_defaults()) == [
        ("hourly-check:acme", "unchanged"), ("hourly-check:globex", "created")
    ]  # fmt: skip
    # an operator's own schedule of that name is never taken over
    schedules.remove("hourly-check:globex")
    schedules.add("hourly-check:globex", "ping", "0 9 * * *", queue="analytics-sync")
    assert [r.action for r in schedules.install_defaults_for(Owner(ORGANIZATION, "globex"))] == ["conflict"]
    assert schedules.remove_defaults_for(ORGANIZATION, "acme") == ["hourly-check:acme"]  # removed with it
    assert [v.record.name for v in schedules.list()] == ["hourly-check:globex"]


def test_intervals_that_are_not_cron_steps_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="does not divide"):
        defaults.interval_cron(timedelta(minutes=7))
