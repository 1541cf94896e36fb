"""Each platform's metrics client against the platform server on 127.0.0.1: the documented
paths, parameters and field names, pagination to the end (or to `since`, or `max_posts`), and
the answers an operator meets: 429 with Retry-After 120 / reset headers, 401, 500, slow answers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from platform_fake import SEED_START, FakePlatforms, Scripted, serve

from jobctl.services.platforms import ClientSettings, Credentials, client_class
from jobctl.services.platforms.base import PlatformUnavailable, RateLimited, TokenRejected
from jobctl.services.platforms.metrics import MetricsQuery

TOKEN = "metrics-tok-SECRET-0a1b2c3d"
OWNERS = {
    "twitter": "2244994945", "linkedin": "urn:li:organization:5515715", "facebook": "1234567890",
    "instagram": "17841400008460056", "threads": "25025320",
}  # fmt: skip


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with serve({TOKEN}) as server:
        yield server


def client(fake: FakePlatforms, platform: str, owner: str | None = None, token: str = TOKEN,
           timeout_s: float = 5.0) -> Any:  # fmt: skip
    settings = ClientSettings(fake.url, total_timeout_s=timeout_s)
    return client_class(platform)(settings, Credentials(owner or OWNERS[platform], token))


@pytest.mark.parametrize("platform", list(OWNERS))
def test_every_post_of_the_account_is_listed_with_its_counts(fake: FakePlatforms, platform: str) -> None:
    ids = fake.seed(platform, OWNERS[platform], 130)
    fake.seed(platform, "someone-else", 3)  # not this account's
    with client(fake, platform) as c:
        stats = c.post_metrics(MetricsQuery(since=None, max_posts=500, page_size=100))
    assert sorted(s.external_post_id for s in stats) == sorted(ids)
    newest = next(s for s in stats if s.external_post_id == ids[-1])  # post 129 of the seed
    assert newest.published_at == SEED_START + 129 * timedelta(hours=5)
    assert newest.likes == 139 and newest.comments == 2
    expected = {  # what each platform reports of the seed's counts, in its own names
        "twitter": (2290, None, 1, 1, 3),
        "linkedin": (2290, 1445, 1, 0, 3),
        "facebook": (2290, 1445, 1, 0, 3),
        "instagram": (2290, 1445, 1, 1, 0),
        "threads": (2290, None, 1, 0, 0),
    }[platform]
    assert (newest.impressions, newest.reach, newest.shares, newest.saves, newest.clicks) == expected
    lists = [r for r in fake.seen if r["path"].endswith(("/tweets", "/posts", "/media", "/threads"))]
    assert len(lists) == 2, lists  # 130 posts, 100 a page
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in fake.seen)
    assert all(TOKEN not in r["query"] for r in fake.seen)  # never in the URL


def test_x_asks_for_the_documented_fields_and_pages_with_next_token(fake: FakePlatforms) -> None:
    fake.seed("twitter", OWNERS["twitter"], 12)
    with client(fake, "twitter") as c:
        stats = c.post_metrics(MetricsQuery(since=SEED_START + timedelta(hours=9), page_size=5))
    assert len(stats) == 10  # posts 2..11: created at or after 09:00 + 9 h (every 5 h)
    queries = [parse_qs(r["query"]) for r in fake.seen]
    assert queries[0]["tweet.fields"] == ["created_at,public_metrics,non_public_metrics"]
    assert queries[0]["max_results"] == ["5"] and queries[0]["start_time"] == ["2026-11-01T18:00:00Z"]
    assert "pagination_token" not in queries[0] and queries[1]["pagination_token"] == ["5"]
    assert len(queries) == 2


def test_max_posts_bounds_the_requests(fake: FakePlatforms) -> None:
    fake.seed("facebook", OWNERS["facebook"], 60)
    with client(fake, "facebook") as c:
        stats = c.post_metrics(MetricsQuery(max_posts=25, page_size=10))
    assert len(stats) == 25 and len(fake.seen) == 3
    fields = parse_qs(fake.seen[0]["query"])["fields"][0]
    assert "insights.metric(post_impressions,post_impressions_unique,post_clicks)" in fields
    assert parse_qs(fake.seen[1]["query"])["after"] == ["10"]


def test_linkedin_member_posts_use_member_creator_post_analytics(fake: FakePlatforms) -> None:
    person = "urn:li:person:abc123"
    ids = fake.seed("linkedin", person, 2)
    with client(fake, "linkedin", person) as c:
        stats = c.post_metrics(MetricsQuery())
    assert {s.external_post_id for s in stats} == set(ids)
    first = next(s for s in stats if s.external_post_id == ids[0])
    assert (first.impressions, first.reach, first.likes, first.comments, first.shares) == (
        1000,
        800,
        10,
        2,
        1,
    )
    kinds = [parse_qs(r["query"]).get("queryType", [None])[0] for r in fake.seen
             if r["path"] == "/rest/memberCreatorPostAnalytics"]  # fmt: skip
    assert sorted(kinds) == sorted(["IMPRESSION", "MEMBERS_REACHED", "REACTION", "COMMENT", "RESHARE"] * 2)


def test_linkedin_organisation_statistics_are_batched(fake: FakePlatforms) -> None:
    fake.seed("linkedin", OWNERS["linkedin"], 45)
    with client(fake, "linkedin") as c:
        stats = c.post_metrics(MetricsQuery(page_size=50))
    assert len(stats) == 45 and all(s.impressions for s in stats)
    batches = [r for r in fake.seen if r["path"] == "/rest/organizationalEntityShareStatistics"]
    assert len(batches) == 3  # 20 URNs a request
    assert "shares=List(urn%3Ali%3Ashare%3A" in batches[0]["query"]


@pytest.mark.parametrize("platform", list(OWNERS))
def test_429_with_retry_after_is_rate_limited(fake: FakePlatforms, platform: str) -> None:
    fake.seed(platform, OWNERS[platform], 3)
    reset = int(time.time()) + 120
    problem = {
        "title": "Too Many Requests",
        "detail": "Too Many Requests",
        "type": "about:blank",
        "status": 429,
    }
    body = problem if platform == "twitter" else {"error": {"message": "rate", "code": 4}}
    fake.script_metrics(Scripted(status=429, body=body, headers={
        "Retry-After": "120", "x-rate-limit-limit": "900", "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset)}), owner=OWNERS[platform])  # fmt: skip
    with client(fake, platform) as c, pytest.raises(RateLimited) as caught:
        c.post_metrics(MetricsQuery())
    assert caught.value.retry_after_s == 120


def test_x_reset_header_alone_gives_the_wait(fake: FakePlatforms) -> None:
    fake.seed("twitter", OWNERS["twitter"], 1)
    fake.script_metrics(Scripted(status=429, headers={"x-rate-limit-reset": str(int(time.time()) + 300)}))
    with client(fake, "twitter") as c, pytest.raises(RateLimited) as caught:
        c.post_metrics(MetricsQuery())
    assert 295 <= caught.value.retry_after_s <= 300


def test_meta_business_use_case_header_gives_the_wait(fake: FakePlatforms) -> None:
    fake.seed("instagram", OWNERS["instagram"], 1)
    usage = {"17841400008460056": [{"type": "instagram", "call_count": 100, "total_cputime": 20,
                                     "total_time": 30, "estimated_time_to_regain_access": 7}]}  # fmt: skip
    fake.script_metrics(Scripted(status=400, body={"error": {"message": "Application request limit reached",
                                                             "code": 80002}},
                                 headers={"X-Business-Use-Case-Usage": json.dumps(usage)}))  # fmt: skip
    with client(fake, "instagram") as c, pytest.raises(RateLimited) as caught:
        c.post_metrics(MetricsQuery())
    assert caught.value.retry_after_s == 420


@pytest.mark.parametrize("platform", list(OWNERS))
def test_a_refused_token_is_token_rejected_and_redacted(fake: FakePlatforms, platform: str) -> None:
    bad = "revoked-tok-SECRET-99887766"
    with client(fake, platform, token=bad) as c, pytest.raises(TokenRejected) as caught:
        c.post_metrics(MetricsQuery())
    assert bad not in caught.value.message and TOKEN not in caught.value.message


def test_500_and_slow_answers_are_unavailable(fake: FakePlatforms) -> None:
    fake.seed("threads", OWNERS["threads"], 2)
    fake.script_metrics(
        Scripted(status=500, body={"error": {"message": "An unknown error occurred", "code": 1}})
    )
    with client(fake, "threads") as c, pytest.raises(PlatformUnavailable):
        c.post_metrics(MetricsQuery())
    fake.script_metrics(Scripted(hang_s=0.3))  # slow but within the deadline: answered
    with client(fake, "threads") as c:
        assert len(c.post_metrics(MetricsQuery())) == 2
    fake.script_metrics(Scripted(hang_s=2.0))
    with client(fake, "threads", timeout_s=0.5) as c, pytest.raises(PlatformUnavailable) as caught:
        c.post_metrics(MetricsQuery())
    assert "no answer" in caught.value.message


def test_instagram_media_without_insights_keeps_the_listed_counts(fake: FakePlatforms) -> None:
    fake.seed("instagram", OWNERS["instagram"], 2)
    fake.script_metrics(Scripted(status=400, body={"error": {
        "message": "(#10) Not enough viewers for the media to show insights", "code": 10}}),
        owner=fake.posts[0]["id"])  # fmt: skip
    with client(fake, "instagram") as c:
        stats = {s.external_post_id: s for s in c.post_metrics(MetricsQuery())}
    quiet = stats[fake.posts[0]["id"]]
    assert quiet.impressions is None and quiet.likes == 10 and quiet.comments == 2
    assert stats[fake.posts[1]["id"]].impressions == 1010


def test_x_falls_back_to_public_metrics_when_private_ones_are_refused(fake: FakePlatforms) -> None:
    fake.seed("twitter", OWNERS["twitter"], 3)
    refused = {"title": "Forbidden", "detail": "non_public_metrics requires user context", "status": 403}
    fake.script_metrics(Scripted(status=403, body=refused))
    with client(fake, "twitter") as c:
        stats = c.post_metrics(MetricsQuery())
    assert len(stats) == 3 and stats[0].impressions == 1020 and stats[0].clicks == 0
    fields = [parse_qs(r["query"])["tweet.fields"][0] for r in fake.seen]
    assert fields == ["created_at,public_metrics,non_public_metrics", "created_at,public_metrics"]


def test_before_request_runs_before_every_request_and_can_stop_the_fetch(fake: FakePlatforms) -> None:
    fake.seed("threads", OWNERS["threads"], 4)
    calls: list[int] = []
    with client(fake, "threads") as c:
        c.before_request = lambda: calls.append(len(fake.seen))
        c.post_metrics(MetricsQuery())
    assert len(calls) == 5 == len(fake.seen)  # the list, then 4 insights

    class Cancelled(Exception):
        pass

    def cancel() -> None:
        if len(fake.seen) >= 7:
            raise Cancelled

    with client(fake, "threads") as c, pytest.raises(Cancelled):
        c.before_request = cancel
        c.post_metrics(MetricsQuery())
    assert len(fake.seen) == 7
