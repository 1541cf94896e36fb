"""Logging setup, chosen by the CLI: JSON lines for machines, short lines for terminals, secrets redacted.

Lower layers only call logging.getLogger("jobctl.<x>") and pass job fields with `extra={...}`;
this module decides where and how those records are written.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import sys
import threading
from collections import deque
from datetime import UTC, datetime
from typing import TextIO

from jobctl.domain.errors import ConfigError
from jobctl.domain.redaction import redact
from jobctl.settings import LOG_LEVELS

JOB_FIELDS = ("job_id", "job_type", "queue", "status", "attempt", "duration_ms", "worker", "error", "event")


# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _json_safe(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)


def _exception(formatter: logging.Formatter, record: logging.LogRecord) -> tuple[str, str, str] | None:
    """(type name, one-line message, traceback) of the record's exception, all redacted."""
    exc_info = record.exc_info
    if not exc_info or exc_info[0] is None:
        return None
    message = redact(str(exc_info[1])).replace("\n", " ")
    return exc_info[0].__name__, message, redact(formatter.formatException(exc_info))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the job fields present, exception summary."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks  # a full traceback only at DEBUG: it is long and rarely needed

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        data: dict[str, object] = {
            "ts": ts.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JOB_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                data[name] = _json_safe(value)
        exc = _exception(self, record)
        if exc is not None:
            data["exc_type"], data["exc_message"] = exc[0], exc[1]
            if self.tracebacks:
                data["traceback"] = exc[2]
        return json.dumps(data, ensure_ascii=False, default=str)


def _human_value(value: object) -> str:
    text = str(value)
    # Quote values with spaces so `key=value` pairs stay splittable by eye and by awk.
    return json.dumps(text, ensure_ascii=False) if (not text or any(c.isspace() for c in text)) else text


class HumanFormatter(logging.Formatter):
    """`21:04:05 INFO  message  job_id=... job_type=... attempt=...` in local time, no colours."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        clock = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{clock} {record.levelname:<5} {record.getMessage()}"
        fields = [
            f"{n}={_human_value(record.__dict__[n])}"
            for n in JOB_FIELDS
            if record.__dict__.get(n) is not None
        ]
        if fields:
            line += "  " + " ".join(fields)
        exc = _exception(self, record)
        if exc is not None:
            line += f"\n{exc[2]}" if self.tracebacks else f"  ({exc[0]}: {exc[1]})"
        return line


def _redact_value(value: object, secrets: tuple[str, ...]) -> object:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _redact_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, secrets) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Redact the final message and string extras, so a secret in any argument never reaches a log."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        # Merge the args first: a secret may only appear once %-formatting has happened.
        try:
            record.msg = redact(record.getMessage(), self.secrets)
            record.args = None
        except (TypeError, ValueError):
            # A malformed log call: keep its template, drop the arguments (they may hold the secret).
            record.msg = redact(f"{record.msg} [unformattable log arguments]", self.secrets)
            record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRS:
                record.__dict__[key] = _redact_value(value, self.secrets)
        return True


class _RqLevelFilter(logging.Filter):
    """Caps RQ's records at `minimum`: RQ resets its child loggers' levels when a worker starts."""

    def __init__(self, minimum: int) -> None:
        super().__init__()
        self.minimum = minimum

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.split(".", 1)[0] == "rq" and record.levelno < self.minimum)


class _JobctlHandler(logging.StreamHandler[TextIO]):
    """Marks the handler configure_logging installed, so a second call replaces it."""


class _Writer(threading.Thread):
    """Formats and writes the queued records every DRAIN_EVERY_S, in one thread."""

    DRAIN_EVERY_S = 0.05

    def __init__(self, records: deque[logging.LogRecord], handler: logging.StreamHandler[TextIO]) -> None:
        super().__init__(name="jobctl-log-writer", daemon=True)
        self.records = records
        self.handler = handler
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(self.DRAIN_EVERY_S):
            self.drain()
        self.drain()

    def drain(self) -> None:
        """Filter and format what is queued, then write it with one write and one flush
        (StreamHandler.emit flushes every record: a system call per line, 2 a job)."""
        records, handler = self.records, self.handler
        lines: list[str] = []
        while records:
            record = records.popleft()
            if not handler.filter(record):
                continue
            try:
                lines.append(handler.format(record) + handler.terminator)
            except Exception:
                handler.handleError(record)
        if not lines:
            return
        with handler.lock or contextlib.nullcontext():
            try:
                handler.stream.write("".join(lines))
                handler.flush()
            except Exception:
                handler.handleError(logging.makeLogRecord({"msg": f"{len(lines)} log lines lost"}))

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        self._stopping.set()
        if self.is_alive():
            self.join()
        self.drain()


class _QueuedHandler(logging.Handler):
    """The front of a background writer: the caller only appends the record to a deque.

    Why: in a worker with 60 slot threads, the two lines a job logs went through one
    handler lock held while formatting and writing; contended, a call took 1-11 ms on
    average (timed in the worker; p50 0.08 ms), time a slot spends between two jobs. A
    queue.SimpleQueue in front (logging's QueueHandler) still woke the writer thread for
    every record: py-spy put the put() and the writer's wake-ups at ~10 % of the worker's GIL
    time. A deque append wakes nobody; the writer drains it on a short timer.
    """

    listener: _Writer | None = None

    def __init__(self) -> None:
        super().__init__()
        self.records: deque[logging.LogRecord] = deque()

    def handle(self, record: logging.LogRecord) -> bool:
        # No handler lock: deque.append is atomic. The writer formats the record.
        passed = bool(self.filter(record))
        if passed:
            self.records.append(record)
        return passed

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _replace(logger: logging.Logger, new: logging.Handler) -> None:
    for old in [h for h in logger.handlers if isinstance(h, _JobctlHandler | _QueuedHandler)]:
        logger.removeHandler(old)
        if isinstance(old, _QueuedHandler) and old.listener is not None:
            old.listener.stop()  # writes what it holds
            old.listener = None
    logger.addHandler(new)


def configure_logging(
    level: str = "INFO",
    *,
    json_lines: bool | None = None,
    stream: TextIO | None = None,
    background: bool = False,
) -> None:
    """Send "jobctl" and "rq" records to `stream` (stderr): JSON lines unless it is a terminal.

    `background`: callers only queue records; one thread formats and writes them (a
    multi-threaded worker; not for processes that fork after this). It writes what is
    queued when configure_logging is called again and at exit; a killed process can lose
    the lines of its last milliseconds.

    Idempotent: a second call replaces the handler instead of adding one.
    """
    name = level.strip().upper()
    if name not in LOG_LEVELS:
        raise ConfigError(f"unknown log level {level!r} (use one of {', '.join(LOG_LEVELS)})")
    number = logging.getLevelNamesMapping()[name]
    out = stream if stream is not None else sys.stderr
    if json_lines is None:
        isatty = getattr(out, "isatty", None)
        json_lines = not (callable(isatty) and isatty())
    debug = number <= logging.DEBUG
    # RQ logs every job start and end at INFO; jobctl logs its own richer lines for those.
    rq_level = number if debug else max(number, logging.WARNING)

    handler = _JobctlHandler(out)
    handler.setFormatter(JsonFormatter(tracebacks=debug) if json_lines else HumanFormatter(tracebacks=debug))
    handler.addFilter(RedactingFilter())
    handler.addFilter(_RqLevelFilter(rq_level))
    front: logging.Handler = handler
    if background:
        # No caller lookup per record (the logging HOWTO's "Optimization": _srcfile = None):
        # neither formatter prints a file, line or function, and the lookup was ~4 µs of a
        # slot's ~12 µs a log call in the 60-slot worker.
        logging._srcfile = None
        queued = _QueuedHandler()
        queued.addFilter(_RqLevelFilter(rq_level))  # drop RQ's chatter before it is queued
        queued.listener = _Writer(queued.records, handler)
        queued.listener.start()
        atexit.register(_stop, queued)
        front = queued

    for logger_name, logger_level in (("jobctl", number), ("rq", rq_level)):
        logger = logging.getLogger(logger_name)
        _replace(logger, front)
        logger.setLevel(logger_level)
        # Our handler is the output; letting records reach root handlers too would print them twice.
        logger.propagate = False


def _stop(handler: _QueuedHandler) -> None:
    if handler.listener is not None:
        handler.listener.stop()
        handler.listener = None
