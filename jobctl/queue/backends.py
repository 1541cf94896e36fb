"""The backends one process shares: database engine + repository, Redis connection, producer.

Built lazily so a command that needs only one backend never pays for (or fails on) the other,
and errors from either are turned into one-line jobctl errors that name only masked URLs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

from jobctl.domain.errors import DatabaseUnavailableError, JobctlError, RedisUnavailableError
from jobctl.domain.redaction import mask_url, redact
from jobctl.settings import Settings
from jobctl.store.db_errors import database_errors, describe_db_error

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.engine import Engine

    from jobctl.queue.producer import Producer
    from jobctl.store.jobs_repo import JobRepository
    from jobctl.store.reader import JobReader


class Backends:
    def __init__(self, settings: Settings, *, db_pool_size: int = 10) -> None:
        self.settings = settings
        self.db_pool_size = db_pool_size  # PostgreSQL connections kept open (a worker: its slots)

    @cached_property
    def engine(self) -> Engine:
        from jobctl.store.engine import create_store_engine, ensure_schema, share_engine

        url = self.settings.effective_database_url
        with self.errors():
            engine = create_store_engine(url, pool_size=self.db_pool_size)
            ensure_schema(engine, auto_upgrade=self.settings.uses_embedded_database)
        share_engine(url, engine)  # the processors' statements use this pool (a worker: slots + 5)
        return engine

    @cached_property
    def repo(self) -> JobRepository:
        from jobctl.store.jobs_repo import JobRepository

        return JobRepository(self.engine)

    @cached_property
    def reader(self) -> JobReader | None:
        """Driver-only job reads for one-shot commands, or None when the store must serve them
        (the engine is already up, or the reader declines: see store/reader.py)."""
        if "engine" in self.__dict__:
            return None
        from jobctl.store.reader import open_reader

        with self.errors():
            return open_reader(self.settings.effective_database_url)

    @cached_property
    def redis(self) -> Redis:
        from jobctl.queue.connection import connect_redis

        return connect_redis(self.settings)

    @cached_property
    def producer(self) -> Producer:
        from jobctl.queue.producer import Producer

        return Producer(self.redis)

    @cached_property
    def redis_url(self) -> str:
        from jobctl.queue.connection import resolve_redis_url

        return resolve_redis_url(self.settings)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate driver errors from either backend into jobctl's one-line errors."""
        try:
            yield
        except JobctlError:
            raise
        except _redis_errors() as exc:
            url = self.settings.redis_url or "the embedded Redis"
            raise RedisUnavailableError(
                f"cannot reach Redis at {mask_url(url)}: {redact(str(exc))}"
            ) from None
        except database_errors() as exc:
            raise DatabaseUnavailableError(
                describe_db_error(self.settings.effective_database_url, exc)
            ) from None

    def close(self) -> None:
        reader = self.__dict__.get("reader")
        if reader is not None:
            reader.close()
        if "engine" in self.__dict__:
            from jobctl.store.engine import unshare_engine

            unshare_engine(self.engine)
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()


def _redis_errors() -> tuple[type[BaseException], ...]:
    """Redis's connection errors, if redis is loaded (evaluated only when an `except` clause
    matches). Commands that never touch Redis (`jobs list`, `db`) skip importing redis and rq:
    220 ms of a 600 ms `jobs list` before this."""
    exceptions = sys.modules.get("redis.exceptions")
    if exceptions is None:
        return ()
    return (exceptions.ConnectionError, exceptions.TimeoutError)
