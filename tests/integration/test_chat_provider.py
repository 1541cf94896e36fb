"""The chat-completions provider against a real OpenAI-compatible server on 127.0.0.1: answers,
429 with Retry-After, 5xx, slow answers, refused keys, over-limit and repeated answers; the key
never in an error or a log line."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from jobctl.domain.content import Organization
from jobctl.domain.context import ItemRecord
from jobctl.domain.errors import JobDeferredError, JobProcessingError, PermanentJobError
from jobctl.domain.platform_rules import RULES
from jobctl.services.content.chat import ChatProvider, ChatSettings, retry_after
from jobctl.services.content.compose import Brief
from jobctl.services.content.ranking import rank_items

KEY = "sk-test-0123456789abcdef"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Reply:
    status: int = 200
    content: str | None = "A post."
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw: str | None = None  # a body other than a chat completion


@dataclass
class ChatServer:
    url: str
    replies: list[Reply]
    seen: list[dict[str, Any]]


@pytest.fixture
def server() -> Iterator[ChatServer]:
    replies: list[Reply] = []
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
            reply = replies.pop(0) if replies else Reply()
            time.sleep(reply.delay_s)
            data = (
                reply.raw
                if reply.raw is not None
                else json.dumps(
                    {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content}}]}
                )
            )
            payload = data.encode()
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a slow answer past its deadline)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.block_on_close = False  # a slow answer still sleeping must not hold the teardown
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield ChatServer(f"http://127.0.0.1:{httpd.server_address[1]}/v1", replies, seen)
    finally:
        httpd.shutdown()
        httpd.server_close()


def _brief() -> Brief:
    text = "Durable job records keep operators informed. Workers that die get their jobs re-run quickly."
    item = ItemRecord("itm_1", "s", "acme", "https://e.com/a", None, "Queues", None, None, text, "h", NOW)
    org = Organization(id="acme", name="Acme", brand_voice="plain", hashtags_never=("#Spam",))
    return Brief(org, "durable queues", "friendly", rank_items("durable queues", [item]))


def _provider(server: ChatServer, sleeps: list[float] | None = None, **kw: Any) -> ChatProvider:
    settings = ChatSettings(base_url=server.url, model="test-model", api_key=KEY, **kw)
    record = sleeps.append if sleeps is not None else None
    return ChatProvider(settings, sleep=record)


def test_one_request_per_variation_with_the_brand_the_rule_and_the_context(server: ChatServer) -> None:
    server.replies += [Reply(content="First post #Queues"), Reply(content='"Second post"')]
    drafts = _provider(server).drafts(_brief(), "twitter", 2)
    assert [d.body for d in drafts] == ["First post #Queues", "Second post"]
    assert drafts[0].hashtags == ("#Queues",) and drafts[0].context_item_ids == ("itm_1",)
    first, second = server.seen
    assert first["path"] == "/v1/chat/completions" and first["auth"] == f"Bearer {KEY}"
    assert first["body"]["model"] == "test-model"
    system, user = (m["content"] for m in first["body"]["messages"])
    assert "Acme" in system and "plain" in system and "friendly" in system and "never invent" in system
    assert "280 characters as X counts them" in user and "Never use: #Spam" in user
    assert "https://e.com/a" in user and "Durable job records" in user and "durable queues" in user
    assert "First post #Queues" in second["body"]["messages"][1]["content"]  # must differ from it


def test_429_with_retry_after_waits_then_succeeds(server: ChatServer) -> None:
    sleeps: list[float] = []
    server.replies += [Reply(429, headers={"Retry-After": "3"}), Reply(content="Made it.")]
    assert _provider(server, sleeps).drafts(_brief(), "linkedin", 1)[0].body == "Made it."
    assert sleeps == [3.0] and len(server.seen) == 2


def test_a_retry_after_past_the_deadline_defers_the_job(server: ChatServer) -> None:
    sleeps: list[float] = []
    server.replies.append(Reply(429, headers={"Retry-After": "600"}))
    with pytest.raises(JobDeferredError) as info:
        _provider(server, sleeps, total_timeout_s=30).drafts(_brief(), "twitter", 1)
    assert info.value.retry_after_s == 600 and info.value.retryable and sleeps == []
    assert len(server.seen) == 1


def test_5xx_is_retried_with_backoff_then_gives_a_retryable_error(server: ChatServer) -> None:
    sleeps: list[float] = []
    server.replies += [Reply(500), Reply(502), Reply(content="Back up.")]
    assert _provider(server, sleeps).drafts(_brief(), "threads", 1)[0].body == "Back up."
    assert sleeps == [1.0, 2.0]
    server.replies += [Reply(503)] * 4
    with pytest.raises(JobProcessingError, match="HTTP 503 after 4 attempt") as info:
        _provider(server, []).drafts(_brief(), "threads", 1)
    assert info.value.retryable and not isinstance(info.value, JobDeferredError)


def test_a_slow_answer_stops_at_the_total_deadline(server: ChatServer) -> None:
    server.replies += [Reply(delay_s=5.0)] * 4
    started = time.monotonic()
    with pytest.raises(JobProcessingError) as info:
        ChatProvider(ChatSettings(server.url, "m", KEY, total_timeout_s=1.5)).drafts(_brief(), "twitter", 1)
    assert time.monotonic() - started < 4.0  # the deadline, not four 5 s answers
    assert info.value.retryable and ("deadline" in str(info.value) or "Timeout" in str(info.value))


def test_refused_key_and_bad_requests_are_permanent_and_never_show_the_key(
    server: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.replies.append(Reply(401, raw=json.dumps({"error": f"bad key {KEY}"})))
    with pytest.raises(PermanentJobError, match="refused the API key") as refused:
        _provider(server).drafts(_brief(), "twitter", 1)
    server.replies.append(Reply(400, raw=json.dumps({"error": f"model not found (key {KEY})"})))
    with pytest.raises(PermanentJobError, match="HTTP 400") as bad:
        _provider(server).drafts(_brief(), "twitter", 1)
    for text in (str(refused.value), str(bad.value), caplog.text, repr(ChatSettings(server.url, "m", KEY))):
        assert KEY not in text
    assert "model not found" in str(bad.value)


def test_an_over_limit_answer_is_regenerated_then_repaired(server: ChatServer) -> None:
    long = " ".join(["Durable job records keep operators informed."] * 12)
    server.replies += [Reply(content=long), Reply(content="Short and fine.")]
    assert _provider(server).drafts(_brief(), "twitter", 1)[0].body == "Short and fine."
    assert "broke the rules" in server.seen[1]["body"]["messages"][-1]["content"]
    server.replies += [Reply(content=long), Reply(content=long)]
    body = _provider(server).drafts(_brief(), "twitter", 1)[0].body
    assert RULES["twitter"].count(body) <= 280 and body.startswith("Durable job records")
    instagram = " ".join(f"#tag{i}x" for i in range(40))
    server.replies += [Reply(content="Post " + instagram)] * 2
    fixed = _provider(server).drafts(_brief(), "instagram", 1)[0].body
    assert RULES["instagram"].violations(fixed) == [] and fixed.startswith("Post #tag0x")


def test_a_repeated_answer_is_regenerated(server: ChatServer) -> None:
    server.replies += [Reply(content="Same."), Reply(content="Same."), Reply(content="Different.")]
    drafts = _provider(server).drafts(_brief(), "facebook", 2)
    assert [d.body for d in drafts] == ["Same.", "Different."]
    assert "repeated an earlier variation" in server.seen[2]["body"]["messages"][-1]["content"]


def test_the_error_names_why_the_last_try_failed(server: ChatServer) -> None:
    """An endpoint that always sends the same over-long post: the second variation, shortened,
    repeats the first, and the error says so (it once named only the length problem)."""
    long = " ".join(["Durable job records keep operators informed."] * 12)
    server.replies += [Reply(content=long)] * 5
    with pytest.raises(JobProcessingError, match="shortened it repeats an earlier variation"):
        _provider(server).drafts(_brief(), "twitter", 2)


def test_an_answer_without_content_is_a_retryable_error(server: ChatServer) -> None:
    server.replies.append(Reply(raw='{"choices": []}'))
    with pytest.raises(JobProcessingError, match="without choices") as info:
        _provider(server).drafts(_brief(), "twitter", 1)
    assert info.value.retryable


def test_retry_after_parses_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("120") == 120.0
    assert retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_the_prompt_carries_the_brand_learning(server: ChatServer) -> None:
    from dataclasses import replace

    from jobctl.services.content.guidance import Guidance

    guidance = Guidance(
        preferred_hashtags=("#Queues",), avoided_hashtags=("#Cloud",), best_times=("Tuesday (UTC)",),
        notes=("posts with #Queues get 80% more engagement than posts without it (n=120 vs 280; ...)",),
    )  # fmt: skip
    _provider(server).drafts(replace(_brief(), guidance=guidance), "twitter", 1)
    _provider(server).drafts(_brief(), "twitter", 1)
    learned, plain = (s["body"]["messages"][1]["content"] for s in server.seen)
    assert "past post metrics show" in learned and "- posts with #Queues get 80% more engagement" in learned
    assert "Prefer these hashtags where they fit the post: #Queues." in learned
    assert "Avoid these hashtags (they did worse): #Cloud." in learned
    assert "past post metrics" not in plain and "Prefer these hashtags" not in plain
