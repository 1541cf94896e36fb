"""The demo's X stand-in answers as X documents: bearer tokens checked, single-use rotating
refresh tokens, media ids checked on /2/tweets, the timeline with metrics, newest first, paged."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from jobctl.cli.demo_platform import CLIENT_ID, HISTORY, DemoPlatform


@pytest.fixture
def platform() -> Iterator[DemoPlatform]:
    stand_in = DemoPlatform()
    try:
        yield stand_in
    finally:
        stand_in.stop()


def test_refresh_tokens_rotate_and_are_single_use(platform: DemoPlatform) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": platform.first_refresh_token,
        "client_id": CLIENT_ID,
    }
    first = httpx.post(platform.token_url, data=form)
    assert first.status_code == 200
    body = first.json()
    assert body["refresh_token"] != platform.first_refresh_token and body["expires_in"] == 7200
    again = httpx.post(platform.token_url, data=form)  # the old refresh token was used up
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")
    assert httpx.post(platform.token_url, data={**form, "client_id": "someone"}).status_code == 401
    # Both the new and the first access token work (X keeps an access token until it expires).
    for token in (body["access_token"], platform.access_token):
        path = f"/2/users/{platform.state.user_id}/tweets"
        assert httpx.get(platform.url + path, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert platform.state.refreshes == 1


def test_publish_with_media_then_the_timeline_has_it_first_with_metrics(platform: DemoPlatform) -> None:
    auth = {"Authorization": f"Bearer {platform.access_token}"}
    assert httpx.post(f"{platform.url}/2/tweets", json={"text": "x"}).status_code == 401
    bad = httpx.post(
        f"{platform.url}/2/tweets", json={"text": "x", "media": {"media_ids": ["1"]}}, headers=auth
    )
    assert bad.status_code == 400
    files = {"media": ("card.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")}
    upload = httpx.post(
        f"{platform.url}/2/media/upload", data={"media_category": "tweet_image"}, files=files, headers=auth
    )
    media_id = upload.json()["data"]["id"]
    made = httpx.post(
        f"{platform.url}/2/tweets",
        json={"text": "Launch week", "media": {"media_ids": [media_id]}},
        headers=auth,
    )
    assert made.status_code == 201
    post_id = made.json()["data"]["id"]
    path = f"{platform.url}/2/users/{platform.state.user_id}/tweets"
    params = {"tweet.fields": "created_at,public_metrics", "max_results": "10"}
    page = httpx.get(path, params=params, headers=auth).json()
    assert page["data"][0]["id"] == post_id and len(page["data"]) == 10
    assert set(page["data"][1]["public_metrics"]) >= {"like_count", "impression_count", "reply_count"}
    seen = len(page["data"])
    while "next_token" in page["meta"]:
        page = httpx.get(
            path, params={**params, "pagination_token": page["meta"]["next_token"]}, headers=auth
        ).json()
        seen += len(page["data"])
    assert seen == HISTORY + 1
    assert [p["id"] for p in platform.state.published()] == [post_id]
