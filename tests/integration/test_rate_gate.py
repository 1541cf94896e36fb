"""The shared rate-limit gate on the real Redis with a real platform server on 127.0.0.1: once
one client of an account is told "429, Retry-After: 120", another client of the same account
(another job, another worker) sends nothing and is told to wait ~120 s; another account goes
on; a 2xx that spends the budget closes the gate too; a Redis that cannot be reached leaves it
open. And publish-content defers (no request) while the gate is closed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet
from platform_fake import FakePlatforms, Scripted, serve
from redis.backoff import NoBackoff
from redis.retry import Retry

from jobctl.domain.accounts import AccountStatus, SocialAccount
from jobctl.domain.content import NewContent
from jobctl.domain.errors import JobDeferredError
from jobctl.queue.rate_gate import RedisRateGate, gate_key
from jobctl.services.platforms import ClientSettings, Credentials, PlatformClient, client_class
from jobctl.services.platforms.base import RateLimited
from jobctl.services.platforms.publish import publish_item
from jobctl.store.accounts_repo import AccountRepository
from jobctl.store.content_repo import ContentRepository

TOKEN = "tok-SECRET-gate-0123456789"
X_USER, OTHER_USER = "2244994945", "783214"
TEXT = "Durable job records keep operators informed"


@pytest.fixture
def fake() -> Iterator[FakePlatforms]:
    with serve({TOKEN}) as server:
        yield server


def client(
    fake: FakePlatforms, gate: Any, platform: str = "twitter", account: str = X_USER
) -> PlatformClient:
    """A client as a job builds one: its own httpx client, the worker's gate."""
    settings = ClientSettings(fake.url, total_timeout_s=5, rate_gate=gate)
    return client_class(platform)(settings, Credentials(account, TOKEN))


def test_after_a_429_no_other_client_of_the_account_sends_anything(
    fake: FakePlatforms, redis_conn: redis.Redis
) -> None:
    first_job, second_job = RedisRateGate(redis_conn), RedisRateGate(redis_conn)  # as two worker processes
    too_many = Scripted(status=429, headers={"Retry-After": "120"}, body={"title": "Too Many Requests"})
    fake.script.append(too_many)
    with client(fake, first_job) as one, pytest.raises(RateLimited) as told:
        one.publish(TEXT)
    assert told.value.retry_after_s == 120 and len(fake.seen) == 1
    assert 119_000 <= int(redis_conn.pttl(gate_key("twitter", X_USER))) <= 120_000  # the shared state
    note = json.loads(redis_conn.get(gate_key("twitter", X_USER)) or b"{}")
    assert "HTTP 429" in note["reason"] and TOKEN not in note["reason"]

    with client(fake, second_job) as two:
        for call in (lambda: two.publish(TEXT), lambda: two.find_post(TEXT)):
            with pytest.raises(RateLimited) as waited:
                call()
            assert 118 <= waited.value.retry_after_s <= 120, waited.value.retry_after_s
            assert "not sent" in waited.value.message and "shared rate-limit gate" in waited.value.message
        assert two.requests == 0
    assert len(fake.seen) == 1 and fake.count() == 0  # the server saw nothing more

    # Another account of the same platform, and the same id on another platform, go on.
    with client(fake, second_job, account=OTHER_USER) as other:
        assert other.publish(TEXT)
    with client(fake, second_job, platform="linkedin", account=X_USER) as same_id_elsewhere:
        assert same_id_elsewhere.find_post(TEXT) is None
    assert fake.count("twitter") == 1 and len(fake.seen) == 3


def test_a_shorter_wait_never_reopens_the_gate_and_it_opens_at_the_reset(
    fake: FakePlatforms, redis_conn: redis.Redis
) -> None:
    gate = RedisRateGate(redis_conn)
    gate.close("twitter", X_USER, 120, "429")
    gate.close("twitter", X_USER, 1, "a shorter 429 from another job")
    wait = gate.wait_s("twitter", X_USER)
    assert wait is not None and wait > 118
    gate.close("linkedin", "urn:li:person:1", 0.3, "429")
    assert [(p, a) for p, a, _, _ in gate.closed()] == [("linkedin", "urn:li:person:1"), ("twitter", X_USER)]
    time.sleep(0.4)
    assert gate.wait_s("linkedin", "urn:li:person:1") is None
    with client(fake, gate, platform="linkedin", account="urn:li:person:1") as li:
        assert li.find_post(TEXT) is None  # open again: sent
    assert len(fake.seen) == 1


def test_a_success_that_spends_the_budget_closes_the_gate(
    fake: FakePlatforms, redis_conn: redis.Redis
) -> None:
    gate = RedisRateGate(redis_conn)
    reset = int(time.time()) + 300
    spent = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    fake.script.append(Scripted(status=201, headers=spent, body={"data": {"id": "77", "text": TEXT}}))
    with client(fake, gate) as one:
        assert one.publish(TEXT) == "77"  # the call itself succeeded
    with client(fake, gate) as two, pytest.raises(RateLimited) as waited:
        two.publish("another post")
    assert 295 <= waited.value.retry_after_s <= 300 and len(fake.seen) == 1


def test_meta_rate_limit_codes_close_the_gate_for_the_time_to_regain_access(
    fake: FakePlatforms, redis_conn: redis.Redis
) -> None:
    gate = RedisRateGate(redis_conn)
    page = "1234567890"
    usage = {page: [{"type": "pages", "call_count": 100, "total_cputime": 9, "total_time": 9,
                     "estimated_time_to_regain_access": 7}]}  # fmt: skip
    fake.script.append(
        Scripted(
            status=400,
            headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
            body={"error": {"message": "Page request limit reached", "code": 32, "fbtrace_id": "A"}},
        )
    )
    with client(fake, gate, platform="facebook", account=page) as fb, pytest.raises(RateLimited) as told:
        fb.publish(TEXT)
    assert told.value.retry_after_s == 7 * 60
    wait = gate.wait_s("facebook", page)
    assert wait is not None and 415 <= wait <= 420


def test_without_a_gate_or_with_redis_down_requests_go(fake: FakePlatforms) -> None:
    with client(fake, None) as plain:
        fake.script.append(Scripted(status=429, headers={"Retry-After": "120"}, body={}))
        with pytest.raises(RateLimited):
            plain.publish(TEXT)
        assert plain.publish(TEXT)  # no gate: nothing remembered, the next request goes
    # No retries: redis-py's default (3, with backoff) would take ~3.6 s per call here.
    nothing = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    down = RedisRateGate(nothing)
    with client(fake, down) as unreachable:
        fake.script.append(Scripted(status=429, headers={"Retry-After": "120"}, body={}))
        with pytest.raises(RateLimited):
            unreachable.publish(TEXT)  # the close fails quietly (logged)
        assert unreachable.publish(TEXT)  # and the check reads as open
    assert fake.count() == 2


def test_publish_content_defers_without_a_request_while_the_gate_is_closed(
    engine: Any, fake: FakePlatforms, redis_conn: redis.Redis
) -> None:
    content, accounts = (
        ContentRepository(engine),
        AccountRepository(engine, (Fernet.generate_key().decode(),)),
    )
    now = datetime.now(UTC)
    account = SocialAccount(
        id="acc_x", organization_id="acme", platform="twitter", handle="@acme", external_id=X_USER,
        status=AccountStatus.CONNECTED, access_token=TOKEN,
    )  # fmt: skip
    accounts.add_account(account, now)
    new = NewContent("twitter", 0, TEXT, (), (), "offline", "extractive-v1")
    item = content.replace_job_content("acme", "gen-1", "q", [new], now)[0].id
    RedisRateGate(redis_conn).close("twitter", X_USER, 120, "another job's 429")
    with pytest.raises(JobDeferredError) as deferred:
        publish_item(
            content, accounts, lambda a: client(fake, RedisRateGate(redis_conn), account=a.external_id),
            content_item_id=item, social_account_id="acc_x", job_id="job-2", now=lambda: datetime.now(UTC),
        )  # fmt: skip
    assert deferred.value.retry_after_s is not None and 118 <= deferred.value.retry_after_s <= 120
    assert fake.seen == [] and TOKEN not in str(deferred.value)


def test_each_thread_checks_over_its_own_connection_and_a_broken_one_is_replaced(
    redis_conn: redis.Redis,
) -> None:
    gate = RedisRateGate(redis_conn)
    gate.close("twitter", X_USER, 30, "test")
    seen: list[Any] = []

    def check() -> None:
        seen.append((gate.wait_s("twitter", X_USER), gate._local.conn))

    threads = [threading.Thread(target=check) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(w is not None and 29 < w <= 30 for w, _ in seen)
    assert len({id(c) for _, c in seen}) == 3  # no pool checkout (its lock) per check
    check()
    mine = gate._local.conn
    mine._sock.close()  # the connection breaks under it (a Redis restart, a proxy timeout)
    wait = gate.wait_s("twitter", X_USER)
    assert wait is not None and wait > 29 and gate._local.conn is not mine
