"""What `jobctl demo` does once its processes run: the sources, account and schedule it adds, the
jobs of every type it enqueues (each stage when the one it needs has completed), the cancel it
sends, and the checks that decide its exit code.

The chain follows the platform's own data flow: the three context syncs (website, feed, PDF on
the demo site) -> generate-content (offline provider, from that context) -> generate-image (a
card for the X variation) -> publish-content (the variation and its card, to the X stand-in)
-> sync-analytics (the account's posts and their metrics, then brand learning). refresh-token,
and the retry / failure / cancel pings, run beside it from the start; the scheduler fires a
feed sync every 3 s until one firing has completed, then that schedule is paused.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jobctl.cli.demo_platform import DemoPlatform
from jobctl.cli.demo_site import DemoSite

ORG = "demo-org"
TYPES = (
    "scrape-website", "sync-rss", "process-document", "generate-content", "generate-image",
    "publish-content", "sync-analytics", "refresh-token", "ping",
)  # fmt: skip
SCHEDULE = "demo-feed-every-3s"
TOPIC = "Launch week recap"


@dataclass
class Tracked:
    """One job the demo enqueued, what it must end as, and its latest row."""

    key: str
    job_id: str
    type: str
    expect: str = "COMPLETED"
    row: Any = None  # JobRecord

    @property
    def status(self) -> str:
        return "PENDING" if self.row is None else str(self.row.status.value)

    @property
    def label(self) -> str:
        """The status as the progress shows it: a PENDING job that ran already is retrying."""
        if self.row is not None and self.status == "PENDING" and self.row.attempts > 0:
            return "retrying"
        return self.status.lower()

    @property
    def final(self) -> bool:
        return self.row is not None and bool(self.row.status.is_final)

    def seconds(self) -> float | None:
        r = self.row
        if r is None or r.started_at is None or r.finished_at is None:
            return None
        return max(0.0, float((r.finished_at - r.started_at).total_seconds()))


@dataclass
class Scenario:
    api: Any  # JobctlAPI
    site: DemoSite
    platform: DemoPlatform
    jobs: dict[str, Tracked] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # job type -> why it was left out
    refused: dict[str, str] = field(default_factory=dict)  # key -> why enqueueing it failed
    sources: dict[str, Any] = field(default_factory=dict)  # kind -> SourceRecord
    account_id: str = ""
    cancel_sent: bool = False
    schedule_paused: bool = False
    on_enqueue: Callable[[Tracked], None] = lambda t: None
    on_read: Callable[[], None] = lambda: None  # after each read of the rows, before new stages

    # -- setting up ------------------------------------------------------------------------------

    def setup(self) -> None:
        """The organisation, its three sources, its X account and the demo's schedule."""
        from jobctl.api.accounts import AccountsAPI, NewAccount
        from jobctl.api.content import ContentAPI, OrgChanges
        from jobctl.api.context import ContextAPI
        from jobctl.api.schedules import ScheduleAPI

        ContentAPI(self.api).add_org(ORG, OrgChanges(
            name="Demo Co", brand_voice="plain, practical, a little proud of shipping",
            hashtags_always=["#jobctl"],
        ))  # fmt: skip
        context = ContextAPI(self.api)
        for kind, path, name in (
            ("website", "/posts/launch-week.html", "Launch post"), ("rss", "/feed.xml", "Demo Blog feed"),
            ("document", "/guide.pdf", "Operator guide"),
        ):  # fmt: skip
            self.sources[kind] = context.add(kind, self.site.url(path), ORG, name=name).source
        expires = datetime.now(UTC) + timedelta(minutes=30)  # inside the refresh window: due
        self.account_id = AccountsAPI(self.api).add(NewAccount(
            ORG, "twitter", "@demo_co", self.platform.state.user_id, self.platform.access_token,
            self.platform.first_refresh_token, expires, "tweet.read tweet.write users.read offline.access",
        )).id  # fmt: skip
        schedules = ScheduleAPI(self.api)
        # Adding the account and sources installed their default schedules (hourly, 6-hourly):
        # paused here, so a demo that runs across the hour runs only its own jobs.
        for view in schedules.list():
            schedules.pause(view.record.name)
        schedules.add(
            SCHEDULE, "sync-rss", "* * * * * */3", {"source_id": self.sources["rss"].id}, organization_id=ORG
        )

    def _enqueue(self, key: str, job_type: str, payload: dict[str, Any], expect: str = "COMPLETED",
                 **options: Any) -> None:  # fmt: skip
        from jobctl.domain.errors import JobctlError, ProcessorNotAvailableError

        try:
            job = self.api.enqueue_job(job_type, payload, **options)
        except ProcessorNotAvailableError as exc:
            self.unavailable[job_type] = exc.message
            return
        except JobctlError as exc:  # reported as that job's failed check, not a crash of the demo
            self.refused[key] = f"{job_type}: {exc.message}"
            return
        self.jobs[key] = tracked = Tracked(key, job.id, job_type, expect)
        self.on_enqueue(tracked)

    def start(self) -> None:
        """The first wave: everything that needs nothing but the setup."""
        for kind, job_type in (("website", "scrape-website"), ("rss", "sync-rss"),
                               ("document", "process-document")):  # fmt: skip
            self._enqueue(job_type, job_type, {"source_id": self.sources[kind].id}, organization_id=ORG)
        self._enqueue("refresh-token", "refresh-token", {"social_account_id": self.account_id},
                      organization_id=ORG)  # fmt: skip
        self._enqueue("retry", "ping", {"fail_attempts": 1}, queue="context-scraping", job_id=_id("retry"))
        self._enqueue("failure", "ping", {"fail_attempts": 9}, "FAILED", queue="analytics-sync",
                      job_id=_id("failure"))  # fmt: skip
        self._enqueue("cancel", "ping", {"sleep_s": 60}, "CANCELLED", queue="content-generation",
                      job_id=_id("cancel"))  # fmt: skip

    # -- running ---------------------------------------------------------------------------------

    def poll(self) -> bool:
        """Read every job, send the cancel, start the stages that are ready; True when all ended."""
        from jobctl.domain.errors import JobNotFoundError

        for t in self.jobs.values():
            if not t.final:
                try:
                    t.row = self.api.get_job(t.job_id)
                except JobNotFoundError:
                    # The scheduler records a firing (with its job id) and then writes the job:
                    # read in between, the row is not there yet (seen under load in CI).
                    if not t.key.startswith("scheduled-"):
                        raise
        self._follow_schedule()
        cancel = self.jobs.get("cancel")
        if cancel is not None and not self.cancel_sent and cancel.status == "RUNNING":
            self.api.cancel_job(cancel.job_id)  # a running job: its worker stops it
            self.cancel_sent = True
        self.on_read()
        self._advance()
        return self.schedule_paused and all(t.final for t in self.jobs.values())

    def _done(self, key: str) -> Any:
        t = self.jobs.get(key)
        return t.row if t is not None and t.status == "COMPLETED" else None

    def _tried(self, key: str) -> bool:
        """Enqueued, refused or left out already (the demo's keys of its stages are job types)."""
        return key in self.jobs or key in self.refused or key in self.unavailable

    def _advance(self) -> None:
        if not self._tried("generate-content") and all(
            self._done(k) for k in ("scrape-website", "sync-rss", "process-document")
        ):
            self._enqueue("generate-content", "generate-content", {
                "topic": TOPIC, "platforms": ["twitter", "linkedin"], "variations_per_platform": 1,
                "context_source_ids": [s.id for s in self.sources.values()],
            }, organization_id=ORG)  # fmt: skip
        content = self._done("generate-content")
        if content is not None and not self._tried("generate-image"):
            item = next(i["id"] for i in content.result["items"] if i["platform"] == "twitter")
            self._enqueue("generate-image", "generate-image",
                          {"prompt": TOPIC, "size": "1200x675", "content_item_id": item},
                          organization_id=ORG)  # fmt: skip
        image = self._done("generate-image")
        if image is not None and not self._tried("publish-content"):
            payload = {
                "content_item_id": image.result["content_item_id"],
                "social_account_id": self.account_id,
            }
            self._enqueue("publish-content", "publish-content", payload, organization_id=ORG)
        if self._done("publish-content") is not None and not self._tried("sync-analytics"):
            self._enqueue(
                "sync-analytics",
                "sync-analytics",
                {"social_account_id": self.account_id, "lookback": "30d"},
                organization_id=ORG,
            )

    def _follow_schedule(self) -> None:
        """Track the scheduler's firings of the demo schedule; pause it after one completed."""
        from jobctl.api.schedules import ScheduleAPI

        if self.schedule_paused:
            return
        schedules = ScheduleAPI(self.api)
        self._track_firings(schedules)
        if any(t.key.startswith("scheduled-") and t.status == "COMPLETED" for t in self.jobs.values()):
            schedules.pause(SCHEDULE)
            self.schedule_paused = True
            self._track_firings(schedules)  # one may have fired since the read: it is waited for too

    def _track_firings(self, schedules: Any) -> None:
        _, firings = schedules.show(SCHEDULE)
        for firing in firings:
            key = f"scheduled-{firing.job_id}"
            if firing.job_id and key not in self.jobs:
                self.jobs[key] = tracked = Tracked(key, firing.job_id, "sync-rss")
                self.on_enqueue(tracked)

    def run(self, timeout: float) -> bool:
        """Poll until every job ended (True) or `timeout` seconds passed (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll():
                return True
            time.sleep(0.2)
        return False

    # -- judging ---------------------------------------------------------------------------------

    def checks(self) -> list[dict[str, Any]]:
        """Each expected outcome, checked: what the exit code is made of."""
        out: list[dict[str, Any]] = []

        def check(name: str, ok: bool, detail: str) -> None:
            out.append({"check": name, "ok": bool(ok), "detail": detail})

        for t in self.jobs.values():
            row = t.row
            attempts = row.attempts if row is not None else 0
            check(f"{t.type} {t.key}", t.status == t.expect, f"expected {t.expect}, got {t.status} "
                  f"after {attempts} attempt(s)")  # fmt: skip
        for key, why in self.refused.items():
            check(f"enqueue {key}", False, why)
        for job_type in TYPES:  # a built-in type without its processor is a broken install
            done = [t for t in self.jobs.values() if t.type == job_type and t.status == "COMPLETED"]
            left_out = self.unavailable.get(job_type)
            said = f"left out: {left_out}" if left_out else f"{len(done)} completed"
            check(f"{job_type} ran", bool(done), said)
        retry, failure = self.jobs.get("retry"), self.jobs.get("failure")
        if retry is not None and retry.row is not None:
            check("retry retried, then completed", retry.row.attempts == 2 and retry.status == "COMPLETED",
                  f"{retry.row.attempts} attempts, {retry.status}")  # fmt: skip
        if failure is not None and failure.row is not None:
            r = failure.row
            check("failure used every attempt", r.attempts == r.max_attempts and failure.status == "FAILED",
                  f"{r.attempts}/{r.max_attempts} attempts, {failure.status}")  # fmt: skip
        check(
            "scheduler fired the demo schedule",
            self.schedule_paused,
            "a firing completed, schedule paused" if self.schedule_paused else "no completed firing",
        )
        made = self.made()
        check(
            "context items made", made["items"] == {"WEBSITE": 1, "RSS": 3, "DOCUMENT": 1}, str(made["items"])
        )
        image = made.get("image_path")
        check("image card written", bool(image) and Path(str(image)).is_file(), str(image))
        posts = self.platform.state.published()
        post_id = made.get("post_id")
        check("post on the stand-in", any(p["id"] == post_id for p in posts), f"post {post_id}")
        check(
            "token rotated",
            self.platform.state.refreshes == 1,
            f"{self.platform.state.refreshes} refresh(es)",
        )
        if "sync-analytics" not in self.unavailable:
            check(
                "analytics collected",
                (made.get("analytics_rows") or 0) > 0,
                f"{made.get('analytics_rows')} rows",
            )
            check("brand learning found insights", (made.get("insights") or 0) > 0, f"{made.get('insights')}")
        return out

    def result(self, key: str) -> Any:
        row = self._done(key)
        return row.result if row is not None else None

    def made(self) -> dict[str, Any]:
        from jobctl.api.context import ContextAPI

        context = ContextAPI(self.api)
        items = {s.kind.value: len(context.items(source_id=s.id)) for s in self.sources.values()}
        content = self.result("generate-content") or {}
        image = self.result("generate-image") or {}
        publish = self.result("publish-content") or {}
        refresh = self.result("refresh-token") or {}
        analytics = self.result("sync-analytics") or {}
        learning = re.match(r"recomputed: (\d+) insight", str(analytics.get("learning") or ""))
        return {
            "items": items, "content_ids": list(content.get("content_item_ids") or []),
            "image_path": image.get("path"), "post_id": publish.get("external_post_id"),
            "refresh": refresh.get("action"), "refresh_token_rotated": refresh.get("refresh_token_rotated"),
            "analytics_rows": analytics.get("posts"),
            "insights": int(learning.group(1)) if learning else None,
            "scheduled_runs": len([t for t in self.jobs.values() if t.key.startswith("scheduled-")]),
        }  # fmt: skip

    def summary(self) -> list[dict[str, Any]]:
        """Per type: jobs, completed, failed, cancelled, median run time, and what it made."""
        made = self.made()
        what = _made_by_type(made, self.jobs)
        rows = []
        for job_type in TYPES:
            jobs = [t for t in self.jobs.values() if t.type == job_type]
            times = [s for t in jobs if (s := t.seconds()) is not None]
            rows.append({
                "type": job_type, "jobs": len(jobs),
                "completed": sum(t.status == "COMPLETED" for t in jobs),
                "failed": sum(t.status == "FAILED" for t in jobs),
                "cancelled": sum(t.status == "CANCELLED" for t in jobs),
                "median_s": round(statistics.median(times), 3) if times else None,
                "made": "left out: no processor installed" if job_type in self.unavailable
                else what.get(job_type, ""),
                "available": job_type not in self.unavailable,
            })  # fmt: skip
        return rows


def _id(key: str) -> str:
    """Job ids of the demo's pings: readable, and unique per run (two demos never share one)."""
    return f"demo-{key}-{time.time_ns() // 1000 % 10**12}"


def _made_by_type(made: dict[str, Any], jobs: dict[str, Tracked]) -> dict[str, str]:
    items = made["items"]
    retry = jobs.get("retry")
    failure = jobs.get("failure")
    pings = []
    if retry is not None and retry.row is not None:
        pings.append(f"retry: {retry.row.attempts} attempts")
    if failure is not None and failure.row is not None:
        pings.append(f"failure: {failure.row.attempts} attempts")
    if "cancel" in jobs:
        pings.append(f"cancel: {jobs['cancel'].status.lower()} while running")
    analytics = ""
    if made["analytics_rows"] is not None:
        analytics = f"{made['analytics_rows']} post metrics rows, {made['insights']} insight(s)"
    return {
        "scrape-website": f"{items.get('WEBSITE', 0)} item (article)",
        "sync-rss": f"{items.get('RSS', 0)} items (feed); {made['scheduled_runs']} by the scheduler",
        "process-document": f"{items.get('DOCUMENT', 0)} item (PDF)",
        "generate-content": ", ".join(made["content_ids"]),
        "generate-image": str(made["image_path"] or ""),
        "publish-content": f"X post {made['post_id']}" if made["post_id"] else "",
        "sync-analytics": analytics,
        "refresh-token": f"{made['refresh']}, refresh token rotated" if made["refresh_token_rotated"]
        else str(made["refresh"] or ""),
        "ping": "; ".join(pings),
    }  # fmt: skip
