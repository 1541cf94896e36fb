"""`jobctl demo`: the whole platform on embedded defaults, in a scratch data directory.

It starts a private Redis (the embedded one) and SQLite, one worker per queue and a scheduler as
child processes, serves its own website, RSS feed, PDF and an X API stand-in on 127.0.0.1 (free
ports), and runs jobs of every type through them (jobctl.cli.demo_scenario), with progress bars.
Then it stops every child by pid, prints a summary per type and what to try next, and exits 0
only if every expected outcome was checked and held: so it doubles as a smoke test of an install.

Safe to run twice and at once: each run has its own data directory (so its own Redis socket and
SQLite file), ports and job ids. Ctrl-C, SIGTERM or SIGHUP stop the children too (exit 130).
Private addresses are allowed for the demo's own processes only (JOBCTL_FETCH_ALLOW_PRIVATE in
their environment, never the user's configuration); the token key and the tokens are made up
per run and never printed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from jobctl.cli.output import info, print_json

QUEUES = ("context-scraping", "content-generation", "analytics-sync")
CONCURRENCY = "4"  # slots per worker: the demo needs at most 3 at once on a queue, the defaults are 10-60
STOP_GRACE_S = 10.0


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


class Interrupted(KeyboardInterrupt):
    """SIGTERM/SIGHUP, raised like Ctrl-C so that the same clean-up runs."""


@dataclass
class Child:
    role: str
    proc: subprocess.Popen[bytes]
    log: Path
    queue: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "queue": self.queue, "pid": self.proc.pid, "log": str(self.log),
                "exit_code": self.proc.returncode}  # fmt: skip


def demo(
    keep: Annotated[
        bool,
        typer.Option(
            "--keep/--clean",
            help="Keep the scratch data directory to look at afterwards, or remove it (not after a failure).",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Seconds to wait for the jobs to end.")
    ] = 60.0,
) -> None:
    """Run the whole platform on embedded defaults with jobs of every type, report, and exit."""
    from jobctl.api.accounts import new_token_key
    from jobctl.cli.demo_platform import CLIENT_ID, DemoPlatform
    from jobctl.cli.demo_site import DemoSite

    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="jobctl-demo-"))
    site, platform = DemoSite(), DemoPlatform()
    # The user's config file (and JOBCTL_* variables) may name a real Redis or database: the demo
    # reads only its own, which names its data dir, so `JOBCTL_CONFIG=it jobctl …` looks there.
    config = data_dir / "config.toml"
    config.write_text(f"# written by jobctl demo: its scratch data\ndata_dir = {json.dumps(str(data_dir))}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBCTL_")}
    env.update({
        "JOBCTL_CONFIG": str(config),
        "JOBCTL_DATA_DIR": str(data_dir),
        "JOBCTL_RETRY_INTERVALS": "1,1,1",  # not 60/300/900 s: the retry story ends in seconds
        "JOBCTL_FETCH_ALLOW_PRIVATE": "1",  # the demo's site is on 127.0.0.1
        "JOBCTL_TOKEN_KEYS": new_token_key(),  # this run's accounts only
        "JOBCTL_X_API_URL": platform.url, "JOBCTL_X_TOKEN_URL": platform.token_url,
        "JOBCTL_X_CLIENT_ID": CLIENT_ID,
    })  # fmt: skip
    info(f"demo: data dir {data_dir} (embedded Redis + SQLite); site {site.base}; X stand-in {platform.url}")
    children: list[Child] = []
    redis_pid: int | None = None
    report: dict[str, Any] = {}
    interrupted = False
    try:
        with _signals_interrupt():
            report, redis_pid = _run(env, data_dir, site, platform, timeout, children)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stopping = time.monotonic()
        with _signals_ignored():  # a second Ctrl-C must not leave children behind: this is bounded
            _stop(children)
            redis_stopped = _stop_redis(env, redis_pid)
            site.stop()
            platform.stop()
            # --clean keeps a failed run's data (its logs say why); an interrupted one goes.
            kept = keep or not (interrupted or report.get("ok"))
            if not kept:
                shutil.rmtree(data_dir, ignore_errors=True)
    if interrupted:
        info(f"demo: interrupted; stopped {len(children)} child process(es) and the embedded Redis"
             + (f"; data in {data_dir}" if kept else "; data removed"))  # fmt: skip
        raise typer.Exit(130)
    report |= {
        "elapsed_s": round(time.monotonic() - started, 2),
        "stop_s": round(time.monotonic() - stopping, 2),  # children, Redis, servers
        "children": [c.to_json() for c in children]
        + [{"role": "redis", "pid": redis_pid, "stopped": redis_stopped}],
        "data_dir": str(data_dir),
        "config": str(config),
        "kept": kept,
    }
    _finish(report, kept, as_json)


def _run(
    env: dict[str, str], data_dir: Path, site: Any, platform: Any, timeout: float, children: list[Child]
) -> tuple[dict[str, Any], int | None]:
    """Start the children (into `children`, which the caller stops, whatever happens), run the
    scenario; the report and the embedded Redis's pid."""
    from jobctl.api import JobctlAPI
    from jobctl.cli.demo_report import Display
    from jobctl.cli.demo_scenario import Scenario
    from jobctl.settings import load_settings

    settings = load_settings(env=env)
    api = JobctlAPI(settings)
    try:
        api.backends.repo  # noqa: B018 - the SQLite schema exists before any child opens it
        api.backends.producer  # noqa: B018 - and the embedded Redis runs: children reuse it
        redis_pid = _redis_pid(settings)
        info(f"demo: started the embedded Redis (pid {redis_pid})")
        logs = data_dir / "logs"
        logs.mkdir()
        for queue in QUEUES:
            args = ["worker", "-q", queue, "--concurrency", CONCURRENCY, "--grace", "5", "--log-json"]
            children.append(_spawn("worker", args, env, logs / f"worker-{queue}.log", queue))
        children.append(_spawn("scheduler", ["scheduler", "--log-json"], env, logs / "scheduler.log"))
        scenario = Scenario(api, site, platform)
        with Display(scenario) as display:
            scenario.on_enqueue = display.enqueued
            for c in children:
                display.line(f"demo: started {c.role}{' ' + c.queue if c.queue else ''} (pid {c.proc.pid})")

            def tick() -> None:
                display.tick()
                for c in children:
                    if c.proc.poll() is not None:
                        raise ChildDied(c)

            scenario.on_read = tick
            scenario.setup()
            scenario.start()
            try:
                finished = scenario.run(timeout)
            except ChildDied as exc:
                display.line(
                    f"demo: the {exc.child.role} (pid {exc.child.proc.pid}) exited early; see {exc.child.log}"
                )
                finished = False
        checks = scenario.checks()
        if not finished:
            left = ", ".join(f"{t.type} {t.job_id} {t.status}" for t in scenario.jobs.values() if not t.final)
            checks.append({"check": f"every job ended within {timeout:g}s", "ok": False, "detail": left})
        report = {
            "ok": all(c["ok"] for c in checks), "types": scenario.summary(), "checks": checks,
            "made": scenario.made(), "unavailable": scenario.unavailable,
            "jobs": [{"key": t.key, "id": t.job_id, "type": t.type, "expected": t.expect, "got": t.status,
                      "attempts": t.row.attempts if t.row is not None else 0, "seconds": t.seconds()}
                     for t in scenario.jobs.values()],
        }  # fmt: skip
        return report, redis_pid
    finally:
        api.close()


def _redis_pid(settings: Any) -> int | None:
    """The embedded Redis's pid (from INFO, which a loaded machine may answer late: retried)."""
    from jobctl.api import embedded_redis_status

    for _ in range(10):
        pid = embedded_redis_status(settings).get("pid")
        if isinstance(pid, int):
            return pid
        time.sleep(0.2)
    return None


class ChildDied(Exception):
    def __init__(self, child: Child) -> None:
        super().__init__(child.role)
        self.child = child


def _spawn(role: str, args: list[str], env: dict[str, str], log: Path, queue: str | None = None) -> Child:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jobctl", *args], env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops them itself, by pid
        )  # fmt: skip
    return Child(role, proc, log, queue)


def _stop(children: list[Child]) -> None:
    """SIGTERM to every child at once (workers finish running jobs, within --grace), then wait;
    SIGKILL whatever is still there after STOP_GRACE_S."""
    for c in children:
        if c.proc.poll() is None:
            c.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for c in children:
        try:
            c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            c.proc.kill()
            c.proc.wait()


def _stop_redis(env: dict[str, str], pid: int | None) -> bool:
    from jobctl.api import stop_embedded_redis
    from jobctl.settings import load_settings

    try:
        return stop_embedded_redis(load_settings(env=env)) or pid is None
    except Exception as exc:  # clean-up goes on; the report says what was left
        info(f"demo: could not stop the embedded Redis (pid {pid}): {exc}")
        return False


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    def raise_interrupt(signum: int, frame: object) -> None:
        raise Interrupted()

    previous = {s: signal.signal(s, raise_interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """While the children are stopped (at most STOP_GRACE_S, then SIGKILL)."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _finish(report: dict[str, Any], keep: bool, as_json: bool) -> None:
    from jobctl.cli.demo_report import next_steps, print_report

    report["next"] = next_steps(report["data_dir"], report["config"], keep)
    if as_json:
        print_json(report)
    else:
        print_report(report)
    if not report["ok"]:
        raise typer.Exit(1)
