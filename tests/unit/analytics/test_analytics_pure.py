"""The pure parts of analytics: the sync-analytics payload, the [analytics] settings, the
platforms' time and insight formats, Meta's rate-limit header, and `analytics show`'s summary
(weighted engagement rate, buckets, sparkline)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from jobctl.domain.analytics import PostMetrics
from jobctl.domain.analytics_summary import newest_per_post, sparkline, summarise, weighted_rate
from jobctl.domain.errors import ConfigError
from jobctl.domain.payloads import SyncAnalyticsPayload
from jobctl.services.platforms.metrics import after_cursor, count, insight_values, parse_time
from jobctl.services.platforms.ratelimit import meta_regain_s as regain_access_s
from jobctl.settings import load_settings

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def row(
    post: str, at: datetime, impressions: int | None, likes: int, platform: str = "twitter"
) -> PostMetrics:
    return PostMetrics("acme", platform, post, at, "acc_1", impressions=impressions, likes=likes)


def test_payload_takes_one_window_and_a_positive_lookback() -> None:
    p = SyncAnalyticsPayload.model_validate({"organization_id": "acme", "lookback": "7d", "max_posts": 50})
    assert p.lookback == "7d" and p.social_account_id is None
    with pytest.raises(ValidationError, match="at most one of since or lookback"):
        SyncAnalyticsPayload.model_validate(
            {"organization_id": "acme", "lookback": "7d", "since": "2026-01-01"}
        )
    for bad in ("soon", "0s"):
        with pytest.raises(ValidationError):
            SyncAnalyticsPayload.model_validate({"organization_id": "acme", "lookback": bad})
    with pytest.raises(ValidationError):
        SyncAnalyticsPayload.model_validate({"organization_id": "acme", "max_posts": 0})


def test_analytics_settings_from_file_and_environment(tmp_path: Path) -> None:
    home = {"HOME": str(tmp_path)}
    assert (load_settings(env=home).analytics_lookback_days, load_settings(env=home).analytics_max_posts) == (
        30,
        200,
    )
    path = tmp_path / "c.toml"
    path.write_text("[analytics]\nlookback_days = 7\nmax_posts = 50\n")
    s = load_settings(path, env=home)
    assert (s.analytics_lookback_days, s.analytics_max_posts) == (7, 50)
    s = load_settings(path, env={**home, "JOBCTL_ANALYTICS_MAX_POSTS": "9"})
    assert s.analytics_max_posts == 9 and s.describe()["analytics"] == {"lookback_days": 7, "max_posts": 9}
    path.write_text("[analytics]\nlookback_days = 0\n")
    with pytest.raises(ConfigError, match=r"analytics\.lookback_days"):
        load_settings(path, env=home)
    with pytest.raises(ConfigError, match="JOBCTL_ANALYTICS_LOOKBACK_DAYS"):
        load_settings(env={**home, "JOBCTL_ANALYTICS_LOOKBACK_DAYS": "a week"})


def test_platform_times_counts_and_insights() -> None:
    assert parse_time("2026-05-01T12:00:00.000Z") == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert parse_time("2026-05-01T12:00:00+0000") == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert parse_time(1777636800000) == datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert parse_time("yesterday") is None and parse_time(None) is None
    assert (count(None), count("12"), count(-3), count(True), count(4.7)) == (0, 12, 0, 0, 4)
    body = {"data": [{"name": "reach", "period": "lifetime", "values": [{"value": 7}]},
                     {"name": "views", "total_value": {"value": 9}}, {"bogus": 1}]}  # fmt: skip
    assert insight_values(body) == {"reach": 7, "views": 9}
    assert after_cursor({"paging": {"cursors": {"after": "QVFI"}, "next": "https://x"}}) == "QVFI"
    assert after_cursor({"paging": {"cursors": {"after": "QVFI"}}}) is None  # no `next`: last page


def test_business_use_case_header_gives_minutes_as_seconds() -> None:
    usage = {"1": [{"type": "pages", "estimated_time_to_regain_access": 3}],
             "2": [{"type": "ads", "estimated_time_to_regain_access": 0}]}  # fmt: skip
    assert regain_access_s({"x-business-use-case-usage": json.dumps(usage)}) == 180
    assert regain_access_s({"x-business-use-case-usage": "not json"}) is None
    assert regain_access_s({}) is None


def test_engagement_is_weighted_by_impressions_and_posts_without_them_are_left_out() -> None:
    rows = [row("a", T0, 10_000, 100), row("b", T0, 3, 2), row("c", T0, None, 50)]
    assert weighted_rate(rows) == pytest.approx(102 / 10_003)
    assert weighted_rate([row("c", T0, None, 5)]) is None


def test_summary_uses_each_posts_newest_collection_and_buckets_by_hour() -> None:
    history = [
        row("a", T0, 1000, 10), row("b", T0, 1000, 30, "linkedin"),
        row("a", T0 + timedelta(hours=1), 2000, 40), row("b", T0 + timedelta(hours=1), 1000, 30, "linkedin"),
    ]  # fmt: skip
    latest = newest_per_post(history)
    summary = summarise("acme", latest, history, T0 - timedelta(hours=2), T0 + timedelta(hours=2))
    assert summary.bucket == "hour"
    assert [t.platform for t in summary.platforms] == ["linkedin", "twitter"]
    assert summary.overall.posts == 2 and summary.overall.impressions == 3000
    assert summary.overall.engagement_rate == pytest.approx(70 / 3000)
    assert [p.engagement_rate for p in summary.series["all"]] == [
        pytest.approx(0.02),
        pytest.approx(70 / 3000),
    ]
    assert [p.posts for p in summary.series["twitter"]] == [1, 1]
    assert summary.to_json()["overall"]["interactions"] == 70
    assert summarise("acme", [], [], T0 - timedelta(days=7), T0).bucket == "day"
    gap = [row("a", T0, 1000, 10), row("a", T0 + timedelta(hours=3), 1000, 20)]
    points = summarise("acme", gap[1:], gap, T0, T0 + timedelta(hours=4)).series["all"]
    assert [p.engagement_rate for p in points] == [0.01, None, None, 0.02]


def test_sparkline_scales_between_the_extremes() -> None:
    assert sparkline([0.01, 0.02, 0.03]) == "▁▅█"
    assert sparkline([0.5, None, 0.5]) == "▅ ▅"
    assert sparkline([None]) == ""
