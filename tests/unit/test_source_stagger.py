"""The default sync of each context source is staggered across the 6-hour window by a hash of
its id: 10,000 sources spread evenly (the seed's US4: "distribute workload evenly"), each one
firing every 6 hours at its own deterministic minute."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from jobctl.domain.context import SourceKind
from jobctl.scheduler import defaults
from jobctl.scheduler.cron import CronSchedule

WINDOW_MIN = defaults.SOURCE_SYNC_HOURS * 60
BUCKET_MIN = 10


def _ids(n: int) -> list[str]:
    rng = random.Random(11)  # ids shaped like new_source_id(), reproducible
    return [f"src_{rng.getrandbits(80):020x}" for _ in range(n)]


def _offset(source_id: str) -> int:
    fields = defaults.stagger_fields(source_id)
    return int(fields["hour"]) * 60 + int(fields["minute"])


def test_ten_thousand_sources_spread_across_the_window() -> None:
    offsets = [_offset(i) for i in _ids(10_000)]
    assert all(0 <= o < WINDOW_MIN for o in offsets)
    buckets = Counter(o // BUCKET_MIN for o in offsets)
    share = len(offsets) / (WINDOW_MIN / BUCKET_MIN)  # ~278 per 10-minute bucket
    assert len(buckets) == WINDOW_MIN // BUCKET_MIN  # every bucket is used
    assert max(buckets.values()) <= 2 * share
    assert min(buckets.values()) >= share / 2
    per_minute = Counter(offsets)
    assert len(per_minute) == WINDOW_MIN and max(per_minute.values()) <= 4 * len(offsets) / WINDOW_MIN


def test_sequential_ids_spread_too() -> None:
    """Ids that differ in one character (a bulk import) do not cluster: sha256, not a prefix."""
    offsets = [_offset(f"src_{n:020d}") for n in range(10_000)]
    buckets = Counter(o // BUCKET_MIN for o in offsets)
    assert max(buckets.values()) <= 2 * len(offsets) / (WINDOW_MIN / BUCKET_MIN)


def test_each_source_fires_every_six_hours_at_its_offset() -> None:
    day = datetime(2026, 12, 2, tzinfo=UTC)
    for source_id in _ids(50):
        owner = defaults.Owner(
            defaults.CONTEXT_SOURCE, source_id, "acme",
            {"job_type": SourceKind.RSS.job_type, **defaults.stagger_fields(source_id)},
        )  # fmt: skip
        cron = CronSchedule(defaults.SOURCE_SYNC.render_cron(owner))
        fires = cron.upcoming(day - timedelta(seconds=1), 5)
        first = day + timedelta(minutes=_offset(source_id))
        assert fires == [first + timedelta(hours=6 * k) for k in range(5)]
        assert defaults.SOURCE_SYNC.render_payload(owner) == {"source_id": source_id}


def test_the_offset_is_pinned() -> None:
    """The same id gives the same time in every process and release (hash() would vary with
    PYTHONHASHSEED); changing the function would move every existing source's schedule."""
    assert defaults.stagger_fields("src_0123456789abcdef0123") == {"minute": "7", "hour": "3"}
