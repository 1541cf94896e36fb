"""`jobctl demo`: the whole system on embedded defaults, in a scratch data directory.

Starts a private Redis and SQLite, a worker process over every queue, submits sample jobs of
every type, exercises retry, failure and cancel-while-running, reports, and cleans up. It exits
non-zero if anything did not behave as designed, so it doubles as a smoke test of an install.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from jobctl.cli.output import info, print_json, table

# Types tried only to report that they cannot run yet. The context-scraping types run against
# the demo's own site on 127.0.0.1 (demo_site.py), never the network; content and image
# generation run on the offline providers once the syncs have made context. (None left: every
# built-in type has a processor; a plugin's type without one would be listed here.)
SAMPLE_PAYLOADS: dict[str, dict[str, Any]] = {}
QUEUES = ("content-generation", "context-scraping", "analytics-sync")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    keep: Annotated[bool, typer.Option("--keep", help="Keep the scratch data directory.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the jobs.")] = 60.0,
) -> None:
    """Run the whole system on embedded defaults with sample jobs, report, and exit."""
    from jobctl.api import JobctlAPI, stop_embedded_redis
    from jobctl.cli.demo_site import DemoSite
    from jobctl.settings import load_settings

    data_dir = Path(tempfile.mkdtemp(prefix="jobctl-demo-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBCTL_")}
    # Retries wait 1 s instead of 60/300/900 s so the demo's retry story finishes in seconds.
    # Private addresses are allowed for the demo's own processes only: its site is on 127.0.0.1.
    env.update(
        {
            "JOBCTL_DATA_DIR": str(data_dir),
            "JOBCTL_RETRY_INTERVALS": "1,1,1",
            "JOBCTL_FETCH_ALLOW_PRIVATE": "1",
        }
    )
    settings = load_settings(env=env)
    api = JobctlAPI(settings)
    info(f"demo: data dir {data_dir} (embedded Redis + SQLite)")
    worker: subprocess.Popen[bytes] | None = None
    site = DemoSite()
    try:
        api.backends.repo  # noqa: B018 - create the SQLite schema before the worker starts
        log_path = data_dir / "worker.log"
        with log_path.open("wb") as log_file:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jobctl",
                    "worker",
                    *(a for q in QUEUES for a in ("-q", q)),
                    "--log-json",
                ],
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        report = _exercise(api, site, timeout)
    finally:
        if worker is not None:
            _stop(worker)
        site.stop()
        api.close()
        stop_embedded_redis(settings)
        if keep:
            info(f"demo: kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    _print_report(report, as_json)
    if not report["ok"]:
        raise typer.Exit(1)


def _exercise(api: Any, site: Any, timeout: float) -> dict[str, Any]:
    from jobctl.api.context import ContextAPI
    from jobctl.domain.errors import JobctlError

    expected: dict[str, str] = {}
    context = ContextAPI(api)
    sources = [
        context.add("rss", site.url("/feed.xml"), "demo-org", name="Demo Blog feed").source,
        context.add("website", site.url("/posts/launch-week.html"), "demo-org", name="Launch post").source,
        context.add("document", site.url("/guide.pdf"), "demo-org", name="Operator guide").source,
    ]
    syncs = [context.sync(source.id).id for source in sources]
    expected.update(dict.fromkeys(syncs, "COMPLETED"))
    generated = False
    for i, queue in enumerate(QUEUES * 3):
        expected[api.enqueue_job("ping", {}, queue=queue, job_id=f"demo-ping-{i}").id] = "COMPLETED"
    expected[api.enqueue_job("ping", {"fail_attempts": 1}, queue=QUEUES[1], job_id="demo-retry").id] = (
        "COMPLETED"
    )
    expected[api.enqueue_job("ping", {"fail_attempts": 9}, queue=QUEUES[2], job_id="demo-fail").id] = "FAILED"
    long_job = api.enqueue_job("ping", {"sleep_s": 60}, queue=QUEUES[0], job_id="demo-cancel")
    expected[long_job.id] = "CANCELLED"
    unavailable = {}
    for job_type, payload in SAMPLE_PAYLOADS.items():
        try:
            api.enqueue_job(job_type, payload, organization_id="demo-org")
        except JobctlError as exc:
            unavailable[job_type] = exc.message
    deadline = time.monotonic() + timeout
    cancelled = False
    while time.monotonic() < deadline:
        rows = {j: api.get_job(j) for j in expected}
        if not cancelled and rows[long_job.id].status.value == "RUNNING":
            api.cancel_job(long_job.id)
            cancelled = True
        if not generated and all(rows[j].status.value == "COMPLETED" for j in syncs):
            expected.update(dict.fromkeys(_generate(api), "COMPLETED"))
            generated = True
            continue
        if generated and all(r.status.is_final for r in rows.values()):
            break
        time.sleep(0.2)
    rows = {j: api.get_job(j) for j in expected}
    checks = [
        {
            "job": j,
            "type": rows[j].type,
            "expected": want,
            "got": rows[j].status.value,
            "attempts": rows[j].attempts,
            "ok": rows[j].status.value == want,
        }
        for j, want in expected.items()
    ]
    ok = all(c["ok"] for c in checks) and rows["demo-fail"].attempts == 4 and rows["demo-retry"].attempts == 2
    counts = {s.id: len(context.items(source_id=s.id)) for s in sources}
    made = [{"source": s.id, "kind": s.kind.value, "url": s.url, "items": counts[s.id]} for s in sources]
    ok = ok and all(counts.values())
    overview = api.queue_overview()
    return {
        "ok": ok,
        "context": made,
        "checks": checks,
        "unavailable_types": unavailable,
        "queues": [q.to_json() for q in overview.queues if q.name in QUEUES],
    }


def _generate(api: Any) -> list[str]:
    """Content and an image card for the demo organisation, from the context the syncs made."""
    content = api.enqueue_job(
        "generate-content",
        {"topic": "Launch week recap", "platforms": ["twitter", "linkedin"], "variations_per_platform": 2},
        organization_id="demo-org",
    )
    image = api.enqueue_job(
        "generate-image", {"prompt": "Launch week recap", "size": "1200x630"}, organization_id="demo-org"
    )
    return [content.id, image.id]


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def _print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    table(
        "demo jobs",
        ["JOB", "TYPE", "EXPECTED", "GOT", "ATTEMPTS", "OK"],
        [
            (c["job"], c["type"], c["expected"], c["got"], c["attempts"], "yes" if c["ok"] else "NO")
            for c in report["checks"]
        ],
    )
    table(
        "context made from the demo site",
        ["SOURCE", "KIND", "ITEMS", "URL"],
        [(m["source"], m["kind"], m["items"], m["url"]) for m in report["context"]],
    )
    table(
        "queues (RQ's view)",
        ["QUEUE", "QUEUED", "RUNNING", "SCHEDULED", "FAILED", "COMPLETED", "CANCELLED"],
        [
            (
                q["name"],
                q["queued"],
                q["running"],
                q["scheduled"],
                q["failed"],
                q["completed"],
                q["cancelled"],
            )
            for q in report["queues"]
        ],
    )
    if report["unavailable_types"]:
        table("job types not runnable yet", ["TYPE", "WHY"], sorted(report["unavailable_types"].items()))
    print(
        "demo: everything behaved as designed"
        if report["ok"]
        else "demo: SOMETHING DID NOT BEHAVE AS DESIGNED"
    )
