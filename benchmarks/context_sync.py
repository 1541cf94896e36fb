"""The context engine through real workers vs the bare libraries, on a site served on 127.0.0.1.

- `context-sync-rss`: FEEDS feeds of ITEMS items as `sync-rss` jobs through `jobctl worker
  --queue context-scraping --concurrency 30` (the queue's concurrency), private addresses
  allowed, vs httpx + feedparser in 30 threads (benchmarks/context_baseline.py).
- `context-scrape`: PAGES article pages (~54 KB each, the shape of a real news page: see
  benchmarks/context_server.py) as `scrape-website` jobs vs httpx + trafilatura's
  `bare_extraction` with metadata in 30 threads. (Toy 5 KB pages made the fixed per-job cost,
  ~5 ms, look like half the work.)

jobctl's figure runs from the first job's start to the last job's end (the SQL rows), and
includes everything a job does that the baseline does not: the source row, the SSRF guard,
HTML-to-text of every item, hashing and storing the items, the job's own bookkeeping. The
baseline runs from its first request to its last parse, in its own process. Each round uses
fresh URLs (so fresh sources and items) and the rounds alternate which side goes first. The
worker's peak RSS (process and children, sampled every 100 ms) is reported next to the
baseline process's peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.concurrent_io import _tree_rss
from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_least

QUEUE = "context-scraping"
ORG = "bench"
ORGS = 25  # the jobs are spread over organisations: each may have 50 active jobs by default
TIMEOUT_S = 900
HERE = Path(__file__).resolve().parent


def _slots() -> int:
    from jobctl.domain.queues import DEFAULT_QUEUES

    return DEFAULT_QUEUES[QUEUE].concurrency


@contextmanager
def site(feeds: int, items: int, pages: int) -> Iterator[str]:
    """benchmarks/context_server.py in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "context_server.py"), str(feeds), str(items), str(pages)],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().decode().strip() or "0")
        if not port:
            raise RuntimeError("the benchmark site did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _worker(
    env: Env, url: str, job_type: str, *, field: str, urls: list[str], tag: str
) -> tuple[float, int, float]:
    """Enqueue one job per URL, drain them with a burst worker; (seconds, peak RSS bytes, CPU
    seconds of the worker process, start-up included: sampled every 100 ms until it exits)."""
    import psutil  # type: ignore[import-untyped]
    from sqlalchemy import func, select

    from jobctl.api import EnqueueRequest, JobctlAPI
    from jobctl.store.tables import JOBS

    env.flush_redis()
    api = JobctlAPI(env.settings(url))
    try:
        requests = [
            EnqueueRequest(job_type, {field: u, "organization_id": f"{ORG}-{n % ORGS}"}, queue=QUEUE)
            for n, u in enumerate(urls)
        ]
        ids = [r.id for r in api.enqueue_many(requests)]
        environ = env.subprocess_environ(url, JOBCTL_FETCH_ALLOW_PRIVATE="1")
        command = [env.exe("jobctl"), "worker", "--queue", QUEUE, "--concurrency", str(_slots()), "--burst"]
        log_path = env.tmp / f"context-worker-{tag}.log"
        peak, cpu = 0, 0.0
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, env=environ, stdout=log, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + TIMEOUT_S
                while proc.poll() is None and time.monotonic() < deadline:
                    peak = max(peak, _tree_rss(psutil, proc.pid))
                    cpu = _cpu_seconds(psutil, proc.pid) or cpu
                    time.sleep(0.1)
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"worker exited {proc.returncode} (log: {log_path})")
        c = JOBS.c
        with api.backends.engine.connect() as conn:
            done, first, last = conn.execute(
                select(func.count(), func.min(c.started_at), func.max(c.finished_at)).where(
                    c.id.in_(ids), c.status == "COMPLETED"
                )
            ).one()
        if done != len(urls):
            why = conn_errors(api, ids)
            raise RuntimeError(f"only {done} of {len(urls)} {job_type} jobs completed: {why}")
    finally:
        api.close()
    return (last - first).total_seconds(), peak, cpu


def _cpu_seconds(psutil: object, pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        times = psutil.Process(pid).cpu_times()  # type: ignore[attr-defined]
        return float(times.user + times.system)
    except Exception:
        return 0.0


def conn_errors(api: object, ids: list[str]) -> str:
    """The statuses and the commonest errors of jobs that did not complete (for the error row)."""
    from sqlalchemy import func, select

    from jobctl.store.tables import JOBS

    c = JOBS.c
    with api.backends.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(
            select(c.status, c.error_type, c.error_message, func.count())
            .where(c.id.in_(ids), c.status != "COMPLETED")
            .group_by(c.status, c.error_type, c.error_message)
            .order_by(func.count().desc())
            .limit(3)
        ).all()
    return "; ".join(f"{n} {status} {etype}: {(msg or '')[:160]}" for status, etype, msg, n in rows)


def _baseline(mode: str, urls: list[str]) -> tuple[float, int, int, float]:
    """benchmarks/context_baseline.py over the same URLs; (seconds, entries or pages, peak RSS,
    CPU seconds while timed)."""
    out = subprocess.run(
        [sys.executable, str(HERE / "context_baseline.py"), mode, str(_slots()), *urls],
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"baseline exited {out.returncode}: {out.stderr.strip()[-400:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return float(data["seconds"]), int(data["got"]), int(data["peak_rss"]), float(data["cpu"])


def _count_items(env: Env, url: str) -> int:
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.pool import NullPool

    from jobctl.store.context_tables import ITEMS

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ITEMS)).scalar_one())
    finally:
        engine.dispose()


def run(env: Env, name: str) -> Result:
    feeds_mode = name == "context-sync-rss"
    count = env.pick(tiny=6, small=100, default=500)
    items = env.pick(tiny=5, small=50, default=50) if feeds_mode else 0
    rounds = env.pick(tiny=1, small=1, default=2)
    kind, job_type, field = (
        ("feed", "sync-rss", "feed_url") if feeds_mode else ("article", "scrape-website", "url")
    )
    jobctl_s = base_s = jobctl_cpu = base_cpu = 0.0
    peak = base_peak = 0
    with env.postgres() as db, site(count if feeds_mode else 0, items, 0 if feeds_mode else count) as base:
        for r in range(rounds):
            urls = [f"{base}/r{r}/{kind}/{n}.{'xml' if feeds_mode else 'html'}" for n in range(count)]
            sides = ["jobctl", "baseline"] if r % 2 == 0 else ["baseline", "jobctl"]
            for side in sides:
                if side == "jobctl":
                    seconds, rss, used = _worker(env, db, job_type, field=field, urls=urls, tag=f"{name}-{r}")
                    jobctl_s, peak, jobctl_cpu = jobctl_s + seconds, max(peak, rss), jobctl_cpu + used
                else:
                    seconds, got, rss, used = _baseline("feeds" if feeds_mode else "pages", urls)
                    expected = count * items if feeds_mode else count
                    if got != expected:
                        raise RuntimeError(
                            f"the baseline got {got} of {expected} {'entries' if feeds_mode else 'pages'}"
                        )
                    base_s, base_peak, base_cpu = base_s + seconds, max(base_peak, rss), base_cpu + used
        stored = _count_items(env, db)
    env.flush_redis()
    expected_items = rounds * count * (items if feeds_mode else 1)
    if stored != expected_items:
        raise RuntimeError(f"jobctl stored {stored} items, expected {expected_items}")
    total = rounds * count
    unit_total = total * items if feeds_mode else total
    mb, base_mb = peak / 2**20, base_peak / 2**20
    what = f"{count:,} feeds x {items} items" if feeds_mode else f"{count:,} pages"
    return Result(
        name,
        unit_total / jobctl_s,
        unit_total / base_s,
        "items/s" if feeds_mode else "pages/s",
        [at_least(0.8)],
        note=f"{rounds} x {what} a side, {_slots()} slots; worker peak RSS {mb:.0f} MB "
        f"(baseline process {base_mb:.0f} MB); CPU: worker {jobctl_cpu:.1f} s incl. start-up, "
        f"baseline {base_cpu:.1f} s (PostgreSQL's not counted); {stored:,} items stored",
        extra={"rss": mb, "baseline_rss": base_mb, "cpu_s": jobctl_cpu, "baseline_cpu_s": base_cpu},
    )


BENCHMARKS = [
    Benchmark(
        "context-sync-rss",
        "sync-rss jobs through a worker (30 slots) vs httpx + feedparser in 30 threads",
        lambda env: run(env, "context-sync-rss"),
    ),
    Benchmark(
        "context-scrape",
        "scrape-website jobs through a worker (30 slots) vs httpx + trafilatura in 30 threads",
        lambda env: run(env, "context-scrape"),
    ),
]
