"""The content factory's rows: the acknowledgement of a generate-content submission (seed US1:
under 2 s), and the offline provider's generation throughput.

- `content-ack-api-{pg,sqlite}-{1,16}`: the time from `JobctlAPI.enqueue_job("generate-content")`
  to holding its job id, with 1 and with 16 concurrent submitters (threads, each with its own
  JobctlAPI, connected beforehand: a long-lived program that submits).
- `content-ack-cli-{1,16}`: the same through the CLI as a user runs it: a fresh `jobctl enqueue
  generate-content ...` process per submission (the installed console script, the run's
  PostgreSQL and Redis), 1 and 16 at a time; the figure includes the interpreter's start and
  every import. Its baseline is a process that only starts Python and imports the libraries
  `jobctl enqueue` needs (SQLAlchemy, SQLModel, redis, RQ, psycopg, Typer, pydantic) at the same
  concurrency: the floor any CLI built on them pays, so the ratio is what jobctl adds.
- Every ack row's figure is the p99 against 2 s; the note gives p50, p99, the sample count and
  the machine's load average when the row started (the machine is shared: read the figures
  with it). No worker runs: the acknowledgement is measured, not the generation.
- Where a CLI acknowledgement goes (measured 2026-12-03 on the 2-core box, calm, load < 0.2:
  one `jobctl enqueue` 0.69 s wall, 0.61 s CPU): ~0.45 s is importing the libraries (SQLAlchemy
  0.17 s, + SQLModel 0.13 s, redis 0.10 s, psycopg 0.10 s, RQ 0.02 s, Typer, pydantic), ~0.1 s
  jobctl's own modules (the SQLModel table classes, payload models, settings), and under 0.05 s
  the work itself (connect, one INSERT, one Redis pipeline); nothing else heavy (no httpx,
  Pillow, Textual, FastAPI) is imported. Sixteen at once are CPU-bound: 16 x ~0.6 s CPU on two
  shared cores is 5 s at best, so the 2 s target holds for one submitter, not for sixteen
  processes; a long-lived submitter (the JobctlAPI rows, or the HTTP API) acknowledges in ms.
- `content-offline-throughput`: variations per second that the offline provider writes from
  1,000 context items (BM25 ranking included), 5 platforms x 3 variations per topic.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import count

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, Target

ACK_TARGET_MS = 2000.0
LIBRARIES = "import sqlalchemy, sqlmodel, redis, rq, psycopg, typer, pydantic"
_ids = count()


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} cores"


def _payload() -> dict[str, object]:
    return {"topic": "Launch week recap", "platforms": ["twitter", "linkedin"]}


def _concurrently(submit: Callable[[], float], workers: int, total: int) -> list[float]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda _i: submit(), range(total)))


def _ack_result(
    name: str, samples: list[float], what: str, load: str, baseline: list[float] | None = None
) -> Result:
    note = (
        f"p50 {_pct(samples, 0.5):.1f} ms, p99 {_pct(samples, 0.99):.1f} ms ({len(samples)} {what}); {load}"
    )
    if baseline is not None:
        note += f"; bare library import p50 {_pct(baseline, 0.5):.0f} ms, p99 {_pct(baseline, 0.99):.0f} ms"
    return Result(
        name, _pct(samples, 0.99), _pct(baseline, 0.99) if baseline else None, "ms p99",
        [Target("max_abs", ACK_TARGET_MS, "ms")], note=note,
    )  # fmt: skip


def run_api(env: Env, backend: str, workers: int) -> Result:
    from jobctl.api import JobctlAPI

    total = env.pick(tiny=8, small=200, default=1_000)
    env.flush_redis()
    load = _load()
    with env.database(backend) as url:
        settings = env.settings(url)
        apis = [JobctlAPI(settings) for _ in range(workers)]
        for api in apis:
            api.enqueue_job("generate-content", _payload(), organization_id="bench-warm")  # connect
        slots = count()

        def submit() -> float:
            api = apis[next(slots) % len(apis)]
            start = time.perf_counter()
            api.enqueue_job("generate-content", _payload(), organization_id=f"bench-{next(_ids)}")
            return (time.perf_counter() - start) * 1000

        try:
            samples = _concurrently(submit, workers, total)
        finally:
            for api in apis:
                api.close()
    env.flush_redis()
    return _ack_result(f"content-ack-api-{backend}-{workers}", samples, "submissions", load)


def _timed(args: list[str], environ: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, env=environ, capture_output=True, text=True, timeout=300, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{args[1]} failed: {done.stderr.strip()[:200]}")
    return elapsed


def run_cli(env: Env, workers: int) -> Result:
    total = env.pick(tiny=1, small=8, default=32) if workers == 1 else env.pick(tiny=4, small=32, default=64)
    env.flush_redis()
    load = _load()
    with env.database("pg") as url:
        environ = env.subprocess_environ(url)
        jobctl = env.exe("jobctl")

        def submit() -> float:
            args = [jobctl, "enqueue", "generate-content", "topic=Launch week recap"]
            return _timed([*args, "platforms=twitter,linkedin", "--org", f"bench-cli-{next(_ids)}"], environ)

        _timed([jobctl, "--version"], environ)  # compiled bytecode on disk, as after an install
        samples = _concurrently(submit, workers, total)
        baseline = _concurrently(lambda: _timed([sys.executable, "-c", LIBRARIES], environ), workers, total)
    env.flush_redis()
    return _ack_result(f"content-ack-cli-{workers}", samples, "commands", load, baseline)


WORDS = ("queue", "worker", "retry", "durable", "record", "broker", "operator", "attempt", "launch",
         "pricing", "seats", "billing")  # fmt: skip


def _items(n_items: int) -> list[object]:
    from jobctl.domain.context import ItemRecord

    now = datetime.now(UTC)
    out: list[object] = []
    for n in range(n_items):
        text = " ".join(
            f"{WORDS[(n + k) % 12].capitalize()} {WORDS[n * k % 12]} note {k} of post {n}." for k in range(8)
        )
        title = f"Post {n} on {WORDS[n % 12]}"
        out.append(ItemRecord(f"itm_{n}", "src", "bench", f"https://example.com/{n}", None, title, None, None,
                              text, "h", now))  # fmt: skip
    return out


def run_offline(env: Env) -> Result:
    from jobctl.domain.content import Organization
    from jobctl.services.content.compose import Brief
    from jobctl.services.content.offline import OfflineProvider
    from jobctl.services.content.ranking import rank_items

    items = _items(1_000)
    topics = [f"{WORDS[i % 12]} {WORDS[(i * 5) % 12]}" for i in range(env.pick(tiny=2, small=10, default=40))]
    provider, org = OfflineProvider(), Organization.defaults("bench")
    platforms = ("twitter", "threads", "linkedin", "instagram", "facebook")
    made, times = 0, []
    for topic in topics:
        start = time.perf_counter()
        brief = Brief(org, topic, org.tone, rank_items(topic, items))  # type: ignore[arg-type]
        for platform in platforms:
            made += len(provider.drafts(brief, platform, 3))
        times.append(time.perf_counter() - start)
    per_topic = statistics.median(times) * 1000
    note = f"{len(topics)} topics x 5 platforms x 3 variations, 1,000 items; {per_topic:.0f} ms a topic"
    target = [Target("min_abs", 50, "variations/s")]
    return Result("content-offline-throughput", made / sum(times), None, "variations/s", target, note=note)


def _ack_benchmarks() -> list[Benchmark]:
    out: list[Benchmark] = []
    for workers in (1, 16):
        for backend, label in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
            out.append(Benchmark(
                f"content-ack-api-{backend}-{workers}",
                f"generate-content acknowledgement, JobctlAPI on {label}, {workers} submitter(s)",
                lambda env, b=backend, w=workers: run_api(env, b, w),  # type: ignore[misc]
            ))  # fmt: skip
        out.append(Benchmark(
            f"content-ack-cli-{workers}",
            f"generate-content acknowledgement, a `jobctl enqueue` process each, {workers} at a time",
            lambda env, w=workers: run_cli(env, w),  # type: ignore[misc]
        ))  # fmt: skip
    return out


BENCHMARKS = [
    *_ack_benchmarks(),
    Benchmark("content-offline-throughput", "offline variations/s from 1,000 context items", run_offline),
]
