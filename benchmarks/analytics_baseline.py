"""The analytics benchmark's baseline: a bare httpx loop doing what sync-analytics asks of
Instagram (run by path).

`python benchmarks/analytics_baseline.py BASE_URL CONCURRENCY TOKEN ACCOUNT...` collects every
account in a pool of CONCURRENCY threads, one httpx client per account (as each jobctl job has
its own): list the media (`/{ig-user-id}/media`, 100 a page, `after` cursors), then one
`/{media-id}/insights` per media, each answer parsed as JSON. It prints one JSON line: the
seconds from the first request to the last answer, the posts, the requests, the CPU seconds
used meanwhile and its peak RSS. Nothing is stored: the whole difference is jobctl's.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

FIELDS = "id,timestamp,like_count,comments_count"
METRICS = "reach,likes,comments,shares,saved,views"


def _account(base: str, token: str, account: str) -> tuple[int, int]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(base_url=base, headers=headers, timeout=60.0, trust_env=False) as client:
        params: dict[str, Any] = {"fields": FIELDS, "limit": 100}
        media: list[dict[str, Any]] = []
        requests = 0
        while True:
            body = client.get(f"/{account}/media", params=params).raise_for_status().json()
            requests += 1
            media += body["data"]
            paging = body.get("paging") or {}
            if not paging.get("next"):
                break
            params["after"] = paging["cursors"]["after"]
        for m in media:
            client.get(f"/{m['id']}/insights", params={"metric": METRICS}).raise_for_status().json()
            requests += 1
    return len(media), requests


def main(base: str, concurrency: int, token: str, accounts: list[str]) -> None:
    start, cpu_start = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda a: _account(base, token, a), accounts))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    posts, requests = sum(r[0] for r in results), sum(r[1] for r in results)
    sys.stdout.write(json.dumps({"seconds": seconds, "posts": posts, "requests": requests, "cpu": cpu,
                                 "peak_rss": peak}) + "\n")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:])
