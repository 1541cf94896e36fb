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
    monkeypatch.setattr(defaults, "_TEMPLATES", {template.key: template})  # this one alone
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


class _StandIn:
    """A sync-analytics processor for a registry where its real one is not installed."""

    job_type = "sync-analytics"

    def run(self, payload: object, ctx: object) -> None:
        return None


def _with_token_key(api: JobctlAPI) -> None:
    """Accounts store their tokens encrypted: give the API a key of its own."""
    from dataclasses import replace

    from cryptography.fernet import Fernet

    api.settings = replace(api.settings, token_keys=(Fernet.generate_key().decode(),))


def test_an_organisation_with_connected_accounts_gets_hourly_analytics_and_token_refresh(
    api: JobctlAPI,
) -> None:
    from jobctl.api.accounts import AccountsAPI, NewAccount
    from jobctl.processors.registry import build_registry

    api._registry = build_registry(extra={"sync-analytics": _StandIn}, load_builtins=False)
    _with_token_key(api)
    accounts = AccountsAPI(api)
    first = accounts.add(NewAccount("acme", "twitter", "@acme", "2244994945", "tok-SECRET-1", "r-1"))
    accounts.add(NewAccount("acme", "linkedin", "@acme", "urn:li:organization:1", "tok-SECRET-2"))
    schedules = ScheduleAPI(api)
    names = sorted(v.record.name for v in schedules.list())
    assert names == ["analytics-sync:acme", "token-refresh:acme"]
    sync, refresh = schedules.get("analytics-sync:acme"), schedules.get("token-refresh:acme")
    minute = int(defaults.stagger_fields("acme", hours=1)["minute"])
    assert sync.cron == f"{minute} * * * *" and refresh.cron == f"{(minute - 10) % 60} * * * *"
    assert sync.job_type == "sync-analytics" and sync.payload["organization_id"] == "acme"
    assert refresh.job_type == "refresh-token" and refresh.payload["organization_id"] == "acme"
    assert refresh.queue is None and refresh.organization_id == "acme"
    # staggered: organisations fire at different minutes (200 orgs spread over > 40 minutes)
    assert len({defaults.organization_owner(f"org{i}").fields["minute"] for i in range(200)}) > 40
    # install-defaults reaches existing organisations, idempotently
    assert {(r.name, r.action) for r in schedules.install_defaults()} >= {
        ("analytics-sync:acme", "unchanged"), ("token-refresh:acme", "unchanged")
    }  # fmt: skip
    # the last connected account takes them away; another one of the org keeps them
    def ours() -> list[str]:
        return sorted(v.record.name for v in schedules.list() if v.record.owner_kind == ORGANIZATION)

    accounts.remove(first.id)
    assert ours() == ["analytics-sync:acme", "token-refresh:acme"]
    accounts.remove(accounts.list_accounts("acme")[0].id)
    assert ours() == []


def test_a_default_whose_job_type_cannot_run_is_skipped(api: JobctlAPI) -> None:
    """Without a sync-analytics processor, adding an account still works and installs the rest."""
    from dataclasses import replace

    from jobctl.api.accounts import AccountsAPI, NewAccount
    from jobctl.processors.registry import build_registry

    # As on an installation without the sync-analytics processor (every built-in type has one
    # here): its entry point is not among the installed ones.
    registry = build_registry(extra={}, load_builtins=False)
    api._registry = replace(registry, installed=registry.installed - {"sync-analytics"})
    _with_token_key(api)
    AccountsAPI(api).add(NewAccount("acme", "twitter", "@acme", "2244994945", "tok-SECRET-1"))
    results = ScheduleAPI(api).install_defaults_for(defaults.organization_owner("acme"))
    assert sorted((r.name, r.action) for r in results) == [
        ("analytics-sync:acme", "unavailable"), ("token-refresh:acme", "unchanged")
    ]  # fmt: skip
