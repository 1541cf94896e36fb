"""The HTTP API (`jobctl api`) against a real uvicorn process on 127.0.0.1, on SQLite and
PostgreSQL, with the real Redis: isolation between organisations on every route, tokens,
validation, idempotency, pagination, rate limiting, and the CLI seeing the same jobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_support import Server, start_server

from jobctl.api.jobs import JobctlAPI
from jobctl.domain.timeparse import utcnow

pytestmark = pytest.mark.slow
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def http_redis_url(redis_server_url: str) -> Iterator[str]:
    """A Redis DB of its own (JOBCTL_TEST_HTTP_REDIS_DB, default 11), flushed before and after."""
    import redis

    from tests.services import redis_db_url

    url = redis_db_url(redis_server_url, 11, "JOBCTL_TEST_HTTP_REDIS_DB")
    conn = redis.Redis.from_url(url)
    conn.flushdb()
    try:
        yield url
    finally:
        conn.flushdb()
        conn.close()


@pytest.fixture(scope="module", params=BACKENDS)
def module_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('httpdb') / 'jobctl.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from tests.conftest import _with_search_path

    server_url = str(request.getfixturevalue("postgres_server_url"))  # skips if disabled
    schema = f"jobctl_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(server_url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def http_env(
    module_db_url: str, http_redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    home = tmp_path_factory.mktemp("httphome")
    return {
        "HOME": str(home),
        "JOBCTL_DATA_DIR": str(home / "data"),
        "JOBCTL_DATABASE_URL": module_db_url,
        "JOBCTL_REDIS_URL": http_redis_url,
        "JOBCTL_API_RATE_LIMIT": "100000",
        "JOBCTL_LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="module")
def core(http_env: dict[str, str]) -> Iterator[JobctlAPI]:
    from jobctl.api import upgrade_database
    from jobctl.settings import load_settings

    settings = load_settings(env=http_env)
    upgrade_database(settings)
    api = JobctlAPI(settings)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture(scope="module")
def tokens(core: JobctlAPI) -> dict[str, tuple[str, str]]:
    """name -> (token id, secret): acme, beta (organisations) and an admin token."""
    from jobctl.api.tokens import TokenAPI

    api = TokenAPI(core)
    out = {}
    for name, org, admin in (("acme", "acme", False), ("beta", "beta", False), ("admin", None, True)):
        record, secret = api.create(org, name, admin=admin)
        out[name] = (record.id, secret)
    return out


@pytest.fixture(scope="module")
def server(
    core: JobctlAPI, http_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    srv = start_server(http_env, tmp_path_factory.mktemp("httplog") / "server.log")
    try:
        yield srv
    finally:
        srv.stop()


def client(server: Server, tokens: dict[str, tuple[str, str]], who: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {tokens[who][1]}"} if who else {}
    return httpx.Client(base_url=server.base_url, headers=headers, timeout=30)


def ping(queue: str = "analytics-sync", **payload: Any) -> dict[str, Any]:
    return {"type": "ping", "queue": queue, "payload": payload}


def test_an_organisation_sees_and_acts_on_its_own_jobs_only(server: Server, tokens: Any) -> None:
    with client(server, tokens, "acme") as a, client(server, tokens, "beta") as b:
        created = a.post("/api/jobs", json=ping(sleep_s=1))
        assert created.status_code == 202, created.text
        assert created.json()["status"] == "PENDING"
        job_id = created.json()["id"]
        assert a.get(f"/api/jobs/{job_id}").json()["organization_id"] == "acme"
        # Organisation beta: every route answers as for an id that does not exist.
        unknown = b.get("/api/jobs/nosuchjob")
        assert unknown.status_code == 404
        for method, path in (
            ("GET", f"/api/jobs/{job_id}"), ("DELETE", f"/api/jobs/{job_id}"),
            ("POST", f"/api/jobs/{job_id}/retry"), ("GET", f"/api/jobs/{job_id}/attempts"),
            ("GET", f"/api/jobs/{job_id}/logs"),
        ):  # fmt: skip
            answer = b.request(method, path)
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json() == {"error": f"no job with id {job_id!r}"}
        assert job_id not in {j["id"] for j in b.get("/api/jobs").json()["jobs"]}
        assert b.get("/api/jobs", params={"org": "acme"}).json()["jobs"] == []
        assert a.get(f"/api/jobs/{job_id}").json()["status"] == "PENDING"  # beta's cancel did nothing
        # beta cannot create a job for acme either.
        spoof = b.post("/api/jobs", json=ping(organization_id="acme"))
        assert spoof.status_code == 422
        assert spoof.json()["detail"][0]["loc"] == ["body", "payload", "organization_id"]
        # acme: list, cancel, retry.
        assert job_id in {j["id"] for j in a.get("/api/jobs", params={"status": "pending"}).json()["jobs"]}
        cancelled = a.delete(f"/api/jobs/{job_id}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
        assert a.delete(f"/api/jobs/{job_id}").status_code == 409
        retried = a.post(f"/api/jobs/{job_id}/retry")
        assert retried.status_code == 200 and retried.json()["status"] == "PENDING"
        assert a.post(f"/api/jobs/{job_id}/retry").status_code == 409


def test_admin_token_sees_every_organisation(server: Server, tokens: Any) -> None:
    with client(server, tokens, "acme") as a, client(server, tokens, "admin") as admin:
        job_id = a.post("/api/jobs", json=ping()).json()["id"]
        assert admin.get(f"/api/jobs/{job_id}").status_code == 200
        listed = admin.get("/api/jobs", params={"org": "acme", "limit": 500}).json()["jobs"]
        assert job_id in {j["id"] for j in listed}
        made = admin.post("/api/jobs", json=ping(organization_id="beta"))
        assert made.status_code == 202
    with client(server, tokens, "beta") as b:
        assert b.get(f"/api/jobs/{made.json()['id']}").status_code == 200


def test_missing_bad_and_revoked_tokens_answer_401(server: Server, tokens: Any, core: JobctlAPI) -> None:
    from jobctl.api.tokens import TokenAPI

    with httpx.Client(base_url=server.base_url) as anon:
        for headers in ({}, {"Authorization": "Bearer jct_nonsense"}, {"Authorization": "Basic eDp5"}):
            answer = anon.get("/api/jobs", headers=headers)
            assert answer.status_code == 401, headers
            assert "API token" in answer.json()["error"]
            assert answer.headers["www-authenticate"] == "Bearer"
        record, secret = TokenAPI(core).create("acme", "short-lived")
        auth = {"Authorization": f"Bearer {secret}"}
        assert anon.get("/api/jobs", headers=auth).status_code == 200
        TokenAPI(core).revoke(record.id)
        assert anon.get("/api/jobs", headers=auth).status_code == 401
    # The access log names the token by its id, never the secret.
    log = server.log()
    assert record.id in log
    assert secret not in log and tokens["acme"][1] not in log


def test_bad_payloads_answer_422_with_the_field_path(server: Server, tokens: Any) -> None:
    with client(server, tokens, "acme") as a:
        bad = a.post(
            "/api/jobs",
            json={"type": "generate-content", "payload": {"topic": "x", "platforms": ["myspace"]}},
        )
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "generate-content", "payload", "platforms", 0]
        extra = a.post("/api/jobs", json=ping(sleep_s=1, colour="red"))
        assert extra.status_code == 422
        assert extra.json()["detail"][0]["loc"][-1] == "colour"
        cross = a.post("/api/jobs", json={"type": "scrape-website", "payload": {}})  # source_id or url
        assert cross.status_code == 422
        assert a.post("/api/jobs", json={"type": "no-such-type"}).status_code == 422
        queue = a.post("/api/jobs", json=ping(queue="no-such-queue"))
        assert queue.status_code == 422 and queue.json()["detail"][0]["loc"] == ["body", "queue"]
        assert a.get("/api/jobs", params={"status": "sleepy"}).json()["detail"][0]["loc"] == [
            "query",
            "status",
        ]
        assert a.get("/api/jobs", params={"cursor": "garbage"}).status_code == 422
        assert (
            a.post(
                "/api/jobs", content=b"{not json", headers={"content-type": "application/json"}
            ).status_code
            == 422
        )


def test_idempotency_key(server: Server, tokens: Any) -> None:
    key = {"Idempotency-Key": f"order-{uuid.uuid4().hex}"}
    with client(server, tokens, "acme") as a, client(server, tokens, "beta") as b:
        first = a.post("/api/jobs", json=ping(sleep_s=2), headers=key)
        again = a.post("/api/jobs", json=ping(sleep_s=2), headers=key)
        assert first.status_code == again.status_code == 202
        assert first.json()["id"] == again.json()["id"]
        other = a.post("/api/jobs", json=ping(sleep_s=3), headers=key)
        assert other.status_code == 409
        assert "Idempotency-Key" in other.json()["error"]
        # The same key from another organisation is another job (and no 409 that would leak).
        theirs = b.post("/api/jobs", json=ping(sleep_s=3), headers=key)
        assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]


def test_cursor_pagination_walks_every_job_once(server: Server, tokens: Any) -> None:
    queue = "content-generation"
    with client(server, tokens, "beta") as b:
        made = [b.post("/api/jobs", json=ping(queue=queue, sleep_s=i)).json()["id"] for i in range(5)]
        seen: list[str] = []
        params: dict[str, Any] = {"queue": queue, "limit": 2}
        while True:
            page = b.get("/api/jobs", params=params).json()
            seen.extend(j["id"] for j in page["jobs"])
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == list(reversed(made))


def test_the_cli_and_the_api_see_the_same_jobs(server: Server, tokens: Any, http_env: dict[str, str]) -> None:
    env = {**os.environ, **http_env}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "jobctl", *args], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    with client(server, tokens, "acme") as a:
        from_api = a.post("/api/jobs", json=ping(queue="context-scraping")).json()["id"]
        listed = json.loads(cli("jobs", "list", "--org", "acme", "--limit", "500", "--json"))
        assert from_api in {j["id"] for j in listed}
        from_cli = cli("enqueue", "ping", "--queue", "context-scraping", "--org", "acme").strip()
        shown = a.get(f"/api/jobs/{from_cli}").json()
        assert shown["organization_id"] == "acme" and shown["type"] == "ping"
        cli("jobs", "cancel", from_cli)
        assert a.get(f"/api/jobs/{from_cli}").json()["status"] == "CANCELLED"
        # A token made by the CLI works at once.
        secret = cli("tokens", "create", "--org", "acme", "--name", "from-cli").strip()
        assert (
            httpx.get(
                f"{server.base_url}/api/jobs/{from_api}", headers={"Authorization": f"Bearer {secret}"}
            ).status_code
            == 200
        )


def test_queues_health_and_metrics(server: Server, tokens: Any, core: JobctlAPI) -> None:
    from jobctl.queue.pause import pause, resume

    pause(core.backends.redis, "analytics-sync", utcnow())
    try:
        with client(server, tokens, "acme") as a:
            queues = a.get("/api/queues")
        with client(server, tokens, "admin") as admin:
            as_admin = {q["name"]: q for q in admin.get("/api/queues").json()["queues"]}
    finally:
        resume(core.backends.redis, "analytics-sync")
    assert as_admin["analytics-sync"]["paused"] and as_admin["analytics-sync"]["paused_by"]
    with client(server, tokens, "acme") as a:
        assert queues.status_code == 200
        assert {"analytics-sync", "content-generation", "context-scraping"} <= {
            q["name"] for q in queues.json()["queues"]
        }
        paused = {q["name"]: q for q in queues.json()["queues"]}["analytics-sync"]
        assert paused["paused"] and paused["paused_at"] and paused["paused_by"] is None  # admins only
        assert all(w["current_job_id"] is None for w in queues.json()["workers"])
        assert a.get("/healthz").json() == {"ok": True, "database": "ok", "redis": "ok"}
        metrics = a.get("/metrics").text
        assert 'jobctl_http_requests_total{method="GET",route="/api/queues",status="200"}' in metrics
        assert "process_cpu_seconds_total" in metrics


def test_attempts_and_logs_routes(server: Server, tokens: Any) -> None:
    """JobctlAPI.job_attempts / job_activity over HTTP: a job not run yet has no attempt and
    reported nothing; another organisation's token gets 404 for both."""
    with client(server, tokens, "acme") as a:
        job_id = a.post("/api/jobs", json=ping()).json()["id"]
        attempts = a.get(f"/api/jobs/{job_id}/attempts")
        assert attempts.status_code == 200, attempts.text
        assert attempts.json() == {"attempts": []}
        logs = a.get(f"/api/jobs/{job_id}/logs")
        assert logs.status_code == 200, logs.text
        assert logs.json()["progress"] is None and logs.json()["logs"] == []
    with client(server, tokens, "beta") as b:
        for path in ("attempts", "logs"):
            assert b.get(f"/api/jobs/{job_id}/{path}").status_code == 404


def test_rate_limit_answers_429(core: JobctlAPI, http_env: dict[str, str], tmp_path: Path) -> None:
    from jobctl.api.tokens import TokenAPI

    env = {**http_env, "JOBCTL_API_RATE_LIMIT": "5", "JOBCTL_API_RATE_WINDOW": "3600"}
    org = f"rl{uuid.uuid4().hex[:8]}"  # an organisation no other test has counted requests for
    _, secret = TokenAPI(core).create(org)
    srv = start_server(env, tmp_path / "server.log")
    try:
        with httpx.Client(base_url=srv.base_url, headers={"Authorization": f"Bearer {secret}"}) as c:
            codes = [c.get("/api/queues").status_code for _ in range(7)]
            assert codes == [200] * 5 + [429] * 2
            limited = c.get("/api/jobs")
            assert limited.status_code == 429
            assert f"organization '{org}' may make 5 requests per 3600 s" in limited.json()["error"]
            assert int(limited.headers["retry-after"]) > 0
    finally:
        srv.stop()


def test_openapi_document_validates(server: Server) -> None:
    """/openapi.json against the OpenAPI 3.1 specification (openapi-spec-validator), with every
    payload contract among its schemas."""
    from openapi_spec_validator import validate

    document = httpx.get(f"{server.base_url}/openapi.json", timeout=10).json()
    validate(document)  # raises OpenAPIValidationError naming the offending path
    assert document["openapi"].startswith("3.1")
    assert {"/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/retry"} <= set(document["paths"])


def test_openapi_property_run_finds_no_5xx_and_no_answer_off_schema(server: Server, tokens: Any) -> None:
    """schemathesis over /openapi.json (which it validates on load), a few dozen examples per
    operation, as an organisation's token: no 5xx, every answer matches its documented schema."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    auth = {"Authorization": f"Bearer {tokens['acme'][1]}"}
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    ran = []
    for result in schema.get_all_operations():
        operation = result.ok()
        ran.append(f"{operation.method.upper()} {operation.path}")

        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            case.call_and_validate(base_url=server.base_url, headers=auth, checks=checks)

        exercise()
    assert "POST /api/jobs" in ran and "GET /api/jobs/{job_id}/logs" in ran


def test_tokens_commands(server: Server, http_env: dict[str, str]) -> None:
    env = {**os.environ, **http_env}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jobctl", "tokens", *args], env=env, capture_output=True, text=True
        )

    made = cli("create", "--org", "acme", "--name", "ci", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)
    auth = {"Authorization": f"Bearer {token['token']}"}
    assert httpx.get(f"{server.base_url}/api/jobs", headers=auth).status_code == 200
    listed = cli("list", "--org", "acme", "--json")
    assert token["id"] in {t["id"] for t in json.loads(listed.stdout)}
    assert token["token"] not in listed.stdout  # the secret is shown once, by create
    assert cli("revoke", token["id"]).returncode == 0
    assert httpx.get(f"{server.base_url}/api/jobs", headers=auth).status_code == 401
    again = cli("revoke", token["id"])
    assert again.returncode == 4 and again.stderr.count("\n") == 1 and "no active token" in again.stderr
    assert cli("create").returncode == 3  # neither --org nor --admin
    assert cli("create", "--org", "bad org!").returncode == 3
