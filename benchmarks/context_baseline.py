"""The context benchmarks' baselines: bare httpx + feedparser, or bare httpx + trafilatura (run by path).

`python benchmarks/context_baseline.py feeds|pages CONCURRENCY URL...` fetches every URL in a
pool of CONCURRENCY threads (the worker's slots), one httpx client per thread sharing one SSL
context (the cheapest bare setup: see benchmarks/http_wait.py), and parses each body: feeds
with feedparser (our bytes and headers, as jobctl does), pages with trafilatura's
`bare_extraction` with metadata (what jobctl's extraction also produces). It prints one JSON
line: the seconds from the first request to the last parse, the CPU seconds it used in them,
the entries/pages it got, and its peak RSS. Libraries are imported before the clock starts.
"""

from __future__ import annotations

import io
import json
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import feedparser
import httpx
import trafilatura

_local = threading.local()
_ssl = httpx.create_ssl_context()


def _client() -> httpx.Client:
    client: httpx.Client | None = getattr(_local, "client", None)
    if client is None:
        client = _local.client = httpx.Client(timeout=60.0, verify=_ssl)
    return client


def _feed(url: str) -> int:
    response = _client().get(url)
    response.raise_for_status()
    headers = {k.lower(): v for k, v in response.headers.items()}
    headers.setdefault("content-location", str(response.url))
    parsed = feedparser.parse(io.BytesIO(response.content), response_headers=headers)
    return len(parsed.entries)


def _page(url: str) -> int:
    response = _client().get(url)
    response.raise_for_status()
    doc = trafilatura.bare_extraction(response.text, url=url, with_metadata=True)
    text = getattr(doc, "text", None) if doc is not None else None
    return 1 if text else 0


def main(mode: str, concurrency: int, urls: list[str]) -> None:
    work = _feed if mode == "feeds" else _page
    start, cpu_start = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        got = sum(pool.map(work, urls))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    sys.stdout.write(json.dumps({"seconds": seconds, "cpu": cpu, "got": got, "peak_rss": peak}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
