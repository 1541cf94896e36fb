"""`analytics-sync`: ACCOUNTS Instagram accounts x POSTS posts as sync-analytics jobs through
`jobctl worker --queue analytics-sync --concurrency 60` (the queue's concurrency) vs a bare
httpx loop in 60 threads (benchmarks/analytics_baseline.py), against the platform server of the
tests (benchmarks/analytics_server.py, its own process, on 127.0.0.1).

Instagram because its metrics take the most requests a post: one media list page per 100 posts,
then one `/{media-id}/insights` per post (51 requests for 50 posts), so the row measures HTTP
work, not only the job's fixed cost. jobctl's figure runs from the first job's start to the last
job's end (the SQL rows) and includes what the baseline does not do: the account row, the link
to our content items, inserting the PostAnalytics rows, the account update, brand learning's
hook (and its read of the organisation's latest metrics), the job's bookkeeping. One job per
account, spread over 25 organisations (each may have 50 active jobs by default). The worker's
peak RSS (process and children, sampled every 100 ms) is reported next to the baseline's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.concurrent_io import _tree_rss
from benchmarks.context_sync import _cpu_seconds, conn_errors
from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_least

QUEUE = "analytics-sync"
PLATFORM = "instagram"
ORGS = 25
TOKEN = "bench-analytics-token-0123456789"
TOKEN_KEY = "q0S3b1m8V1x8d2x0h4pWJ3K4nU2dT6VhZ8Qm1c9b7aE="  # a Fernet key: tokens are encrypted at rest
TIMEOUT_S = 1200
HERE = Path(__file__).resolve().parent


def _slots() -> int:
    from jobctl.domain.queues import DEFAULT_QUEUES

    return DEFAULT_QUEUES[QUEUE].concurrency


@contextmanager
def platform_server(accounts: int, posts: int) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "analytics_server.py"), PLATFORM, str(accounts), str(posts), TOKEN],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().decode().strip() or "0")
        if not port:
            raise RuntimeError("the benchmark platform server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def entry_point_shim(root: Path) -> Path | None:
    """A dist-info declaring the checkout's processor entry points the installed metadata lacks
    (a branch's new processor before a reinstall), for the worker's PYTHONPATH; None if none."""
    from importlib.metadata import entry_points

    group = "jobctl.processors"
    declared = tomllib.loads((HERE.parent / "pyproject.toml").read_text())["project"]["entry-points"][group]
    missing = {k: v for k, v in declared.items() if k not in {ep.name for ep in entry_points(group=group)}}
    if not missing:
        return None
    dist = root / "jobctl_checkout_entry_points-0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jobctl-checkout-entry-points\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in missing.items())
    )
    return root


def _accounts(url: str, accounts: int) -> list[tuple[str, str]]:
    """(account id, organisation) of each benchmark account, added to the database."""
    from jobctl.domain.accounts import SocialAccount
    from jobctl.services.analytics.accounts import CONNECTED
    from jobctl.store.accounts_repo import AccountRepository
    from jobctl.store.engine import create_store_engine

    engine = create_store_engine(url)
    repo = AccountRepository(engine, (TOKEN_KEY,))
    out = []
    try:
        for n in range(accounts):
            org = f"bench-{n % ORGS}"
            account = SocialAccount(
                id=f"acc_bench_{n}", organization_id=org, platform=PLATFORM, handle=f"@bench{n}",
                external_id=f"bench-{n}", status=CONNECTED, access_token=TOKEN,
            )  # fmt: skip
            repo.add_account(account, datetime.now(UTC))
            out.append((account.id, org))
    finally:
        engine.dispose()
    return out


def _worker(
    env: Env, db: str, server: str, targets: list[tuple[str, str]], posts: int
) -> tuple[float, int, float]:
    import psutil  # type: ignore[import-untyped]
    from sqlalchemy import func, select

    from jobctl.api import EnqueueRequest, JobctlAPI
    from jobctl.processors.registry import build_registry
    from jobctl.processors.sync_analytics import SyncAnalyticsProcessor
    from jobctl.store.tables import JOBS

    env.flush_redis()
    registry = build_registry({"sync-analytics": SyncAnalyticsProcessor}, load_builtins=False)
    api = JobctlAPI(env.settings(db), registry=registry)
    try:
        requests = [
            EnqueueRequest("sync-analytics", {"organization_id": org, "social_account_id": account,
                                              "lookback": "3650d", "max_posts": posts}, queue=QUEUE)
            for account, org in targets
        ]  # fmt: skip
        ids = [r.id for r in api.enqueue_many(requests)]
        extra = {"JOBCTL_INSTAGRAM_API_URL": server, "JOBCTL_TOKEN_KEYS": TOKEN_KEY}
        environ = env.subprocess_environ(db, **extra)
        shim = entry_point_shim(env.tmp / "entry-points")
        if shim is not None:
            environ["PYTHONPATH"] = f"{shim}:{environ['PYTHONPATH']}"
        command = [env.exe("jobctl"), "worker", "--queue", QUEUE, "--concurrency", str(_slots()), "--burst"]
        log_path = env.tmp / "analytics-worker.log"
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
        if done != len(ids):
            raise RuntimeError(
                f"only {done} of {len(ids)} sync-analytics jobs completed: {conn_errors(api, ids)}"
            )
    finally:
        api.close()
    return (last - first).total_seconds(), peak, cpu


def _baseline(server: str, accounts: int) -> tuple[float, int, int, int, float]:
    names = [f"bench-{n}" for n in range(accounts)]
    out = subprocess.run(
        [sys.executable, str(HERE / "analytics_baseline.py"), server, str(_slots()), TOKEN, *names],
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"baseline exited {out.returncode}: {out.stderr.strip()[-400:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return (
        float(data["seconds"]),
        int(data["posts"]),
        int(data["requests"]),
        int(data["peak_rss"]),
        float(data["cpu"]),
    )


def _stored(db: str) -> int:
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.pool import NullPool

    from jobctl.store.analytics_tables import POST_ANALYTICS

    engine = create_engine(db, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(POST_ANALYTICS)).scalar_one())
    finally:
        engine.dispose()


def run(env: Env) -> Result:
    accounts = env.pick(tiny=4, small=20, default=200)
    posts = env.pick(tiny=10, small=50, default=50)
    with env.postgres() as db, platform_server(accounts, posts) as server:
        targets = _accounts(db, accounts)
        base_s, got, requests, base_peak, base_cpu = _baseline(server, accounts)
        if got != accounts * posts:
            raise RuntimeError(f"the baseline got {got} of {accounts * posts} posts")
        jobctl_s, peak, jobctl_cpu = _worker(env, db, server, targets, posts)
        stored = _stored(db)
    env.flush_redis()
    if stored != accounts * posts:
        raise RuntimeError(f"jobctl stored {stored} PostAnalytics rows, expected {accounts * posts}")
    mb, base_mb = peak / 2**20, base_peak / 2**20
    return Result(
        "analytics-sync",
        stored / jobctl_s,
        got / base_s,
        "posts/s",
        [at_least(0.8)],
        note=f"{accounts} {PLATFORM} accounts x {posts} posts ({requests:,} requests a side), "
        f"{_slots()} slots; "
        f"worker peak RSS {mb:.0f} MB (baseline process {base_mb:.0f} MB); CPU: worker {jobctl_cpu:.1f} s "
        f"incl. start-up, baseline {base_cpu:.1f} s; {stored:,} PostAnalytics rows stored",
        extra={"rss": mb, "baseline_rss": base_mb, "cpu_s": jobctl_cpu, "baseline_cpu_s": base_cpu},
    )


BENCHMARKS = [
    Benchmark(
        "analytics-sync",
        "sync-analytics jobs through a worker (60 slots) vs a bare httpx loop in 60 threads",
        run,
    ),
]
