"""The content factory's rows: the acknowledgement of a generate-content submission (seed US1:
under 2 s), and the offline provider's generation throughput.

- `content-ack-api-*` / `content-ack-cli`: the time from submitting generate-content to holding
  its job id, with 1 and with 16 concurrent submitters (threads with their own JobctlAPI; for
  the CLI, concurrent `jobctl enqueue` processes). The figure is the p99 over both, against
  2 s; p50 and p99 of each concurrency are in the note. No worker runs: the acknowledgement is
  what is measured, not the generation.
- `content-offline-throughput`: variations per second that the offline provider writes from
  1,000 context items (BM25 ranking included), 5 platforms x 3 variations per topic.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import count

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, Target

ACK_TARGET_MS = 2000.0
_ids = count()


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _payload() -> dict[str, object]:
    return {"topic": "Launch week recap", "platforms": ["twitter", "linkedin"]}


def _concurrently(submit: Callable[[], float], workers: int, total: int) -> list[float]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda _i: submit(), range(total)))


def _ack_result(name: str, by_workers: dict[int, list[float]], what: str) -> Result:
    everything = [s for samples in by_workers.values() for s in samples]
    note = "; ".join(
        f"{w} submitter(s): p50 {_pct(s, 0.5):.1f} ms, p99 {_pct(s, 0.99):.1f} ms ({len(s)} {what})"
        for w, s in by_workers.items()
    )
    return Result(
        name, _pct(everything, 0.99), None, "ms p99", [Target("max_abs", ACK_TARGET_MS, "ms")], note=note
    )


def run_api(env: Env, backend: str) -> Result:
    from jobctl.api import JobctlAPI

    total = env.pick(tiny=8, small=200, default=1_000)
    env.flush_redis()
    by_workers: dict[int, list[float]] = {}
    with env.database(backend) as url:
        settings = env.settings(url)
        for workers in (1, 16):
            apis = [JobctlAPI(settings) for _ in range(workers)]
            for api in apis:
                api.enqueue_job("generate-content", _payload(), organization_id="bench-warm")  # connect
            slots = iter(range(10**9))

            def submit(apis: list[JobctlAPI] = apis, slots: object = slots) -> float:
                api = apis[next(slots) % len(apis)]  # type: ignore[call-overload]
                start = time.perf_counter()
                api.enqueue_job("generate-content", _payload(), organization_id=f"bench-{next(_ids)}")
                return (time.perf_counter() - start) * 1000

            try:
                by_workers[workers] = _concurrently(submit, workers, total)
            finally:
                for api in apis:
                    api.close()
    env.flush_redis()
    return _ack_result(f"content-ack-api-{backend}", by_workers, "submissions")


def run_cli(env: Env) -> Result:
    total = env.pick(tiny=1, small=8, default=32)
    env.flush_redis()
    by_workers: dict[int, list[float]] = {}
    with env.database("pg") as url:
        environ = env.subprocess_environ(url)
        jobctl = env.exe("jobctl")

        def submit() -> float:
            args = [jobctl, "enqueue", "generate-content", "topic=Launch week recap"]
            args += ["platforms=twitter,linkedin", "--org", f"bench-cli-{next(_ids)}"]
            start = time.perf_counter()
            done = subprocess.run(args, env=environ, capture_output=True, text=True, timeout=300, check=False)
            elapsed = (time.perf_counter() - start) * 1000
            if done.returncode != 0:
                raise RuntimeError(f"jobctl enqueue failed: {done.stderr.strip()[:200]}")
            return elapsed

        for workers in (1, 16):
            runs = total if workers == 1 else max(16, total * 2)
            by_workers[workers] = _concurrently(submit, workers, runs)
    env.flush_redis()
    return _ack_result("content-ack-cli", by_workers, "commands")


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


BENCHMARKS = [
    Benchmark(
        "content-ack-api-pg",
        "generate-content acknowledgement, JobctlAPI on PostgreSQL, 1 and 16 submitters",
        lambda env: run_api(env, "pg"),
    ),
    Benchmark(
        "content-ack-api-sqlite",
        "generate-content acknowledgement, JobctlAPI on SQLite, 1 and 16 submitters",
        lambda env: run_api(env, "sqlite"),
    ),
    Benchmark("content-ack-cli", "generate-content acknowledgement, `jobctl enqueue`, 1 and 16", run_cli),
    Benchmark("content-offline-throughput", "offline variations/s from 1,000 context items", run_offline),
]
