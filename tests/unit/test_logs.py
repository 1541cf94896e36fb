"""Logging: JSON lines with job fields, terminal lines, redaction, RQ capped, idempotent setup."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from jobctl.domain.errors import ConfigError
from jobctl.logs import configure_logging

SECRET = "hunter2secret"


@pytest.fixture(autouse=True)
def restore_loggers() -> Iterator[None]:
    """configure_logging changes global loggers: put "jobctl" and "rq" back as they were."""
    saved = {}
    for name in ("jobctl", "rq"):
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_line_has_timestamp_level_and_job_fields() -> None:
    out = io.StringIO()
    configure_logging("INFO", stream=out)  # not a TTY -> JSON
    logging.getLogger("jobctl.worker.slot").info(
        "job %s finished",
        "j-1",
        extra={"job_id": "j-1", "job_type": "sync-rss", "queue": "context-scraping", "attempt": 2,
               "duration_ms": 153, "status": "COMPLETED", "unrelated": "not a job field"},
    )  # fmt: skip
    [line] = lines(out)
    record = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
    assert record["level"] == "INFO"
    assert record["logger"] == "jobctl.worker.slot"
    assert record["message"] == "job j-1 finished"
    assert record["job_id"] == "j-1" and record["job_type"] == "sync-rss"
    assert record["queue"] == "context-scraping" and record["status"] == "COMPLETED"
    assert record["attempt"] == 2 and record["duration_ms"] == 153
    assert "unrelated" not in record and "worker" not in record


def test_secrets_are_masked_in_messages_and_extras() -> None:
    out = io.StringIO()
    configure_logging("INFO", json_lines=True, stream=out)
    log = logging.getLogger("jobctl.test")
    log.warning("connecting to %s", f"redis://:{SECRET}@cache.internal:6379/0")
    log.error("sync failed", extra={"error": f"GET https://api.example/x?access_token={SECRET} -> 401"})
    text = out.getvalue()
    assert SECRET not in text
    first, second = (json.loads(line) for line in lines(out))
    assert first["message"] == "connecting to redis://:***@cache.internal:6379/0"
    assert "access_token=***" in second["error"]


def test_exception_summary_without_traceback_unless_debug() -> None:
    def log_failure(level: str) -> dict[str, object]:
        out = io.StringIO()
        configure_logging(level, json_lines=True, stream=out)
        try:
            raise ConnectionError(f"cannot reach redis://u:{SECRET}@h:6379")
        except ConnectionError:
            logging.getLogger("jobctl.test").exception("broken")
        [line] = lines(out)  # one line, even with a traceback
        assert SECRET not in line
        parsed: dict[str, object] = json.loads(line)
        return parsed

    info = log_failure("INFO")
    assert info["exc_type"] == "ConnectionError"
    assert info["exc_message"] == "cannot reach redis://u:***@h:6379"
    assert "traceback" not in info
    debug = log_failure("DEBUG")
    assert "Traceback (most recent call last)" in str(debug["traceback"])


def test_human_format_on_a_terminal() -> None:
    out = TTY()
    configure_logging("INFO", stream=out)  # a TTY -> human lines
    logging.getLogger("jobctl.x").info(
        "job done", extra={"job_id": "abc", "job_type": "ping", "attempt": 1, "error": "two words"}
    )
    [line] = lines(out)
    assert re.fullmatch(
        r'\d\d:\d\d:\d\d INFO  job done  job_id=abc job_type=ping attempt=1 error="two words"', line
    )


def test_configure_twice_does_not_duplicate_handlers() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", stream=first)
    configure_logging("INFO", stream=second)
    assert len(logging.getLogger("jobctl").handlers) == 1
    assert len(logging.getLogger("rq").handlers) == 1
    logging.getLogger("jobctl").info("once")
    assert first.getvalue() == ""
    assert len(lines(second)) == 1


def test_rq_is_capped_at_warning_unless_debug() -> None:
    out = io.StringIO()
    configure_logging("INFO", json_lines=True, stream=out)
    worker_log = logging.getLogger("rq.worker")
    worker_log.setLevel(logging.INFO)  # what RQ's Worker.work() does to its own logger
    worker_log.info("default: Job OK (abc)")
    worker_log.warning("cleaning registries")
    assert [json.loads(line)["message"] for line in lines(out)] == ["cleaning registries"]

    out = io.StringIO()
    configure_logging("DEBUG", json_lines=True, stream=out)
    worker_log.info("default: Job OK (abc)")
    assert len(lines(out)) == 1


def test_malformed_log_call_neither_raises_nor_leaks() -> None:
    out = io.StringIO()
    configure_logging("INFO", json_lines=True, stream=out)
    # The bug under test: one argument for two placeholders.
    logging.getLogger("jobctl.x").info("two args %s %s", f"password={SECRET}")  # noqa: PLE1206
    assert SECRET not in out.getvalue()
    assert "unformattable" in json.loads(out.getvalue())["message"]


def test_unknown_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown log level"):
        configure_logging("chatty")
