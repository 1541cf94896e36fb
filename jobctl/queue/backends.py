"""The backends one process shares: database engine + repository, Redis connection, producer.

Built lazily so a command that needs only one backend never pays for (or fails on) the other,
and errors from either are turned into one-line jobctl errors that name only masked URLs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING

import redis.exceptions

from jobctl.domain.errors import DatabaseUnavailableError, JobctlError, RedisUnavailableError
from jobctl.domain.redaction import mask_url, redact
from jobctl.queue.connection import connect_redis, resolve_redis_url
from jobctl.queue.producer import Producer
from jobctl.settings import Settings
from jobctl.store.engine import create_store_engine, database_errors, describe_db_error, ensure_schema
from jobctl.store.jobs_repo import JobRepository

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.engine import Engine


class Backends:
    def __init__(self, settings: Settings, *, db_pool_size: int = 10) -> None:
        self.settings = settings
        self.db_pool_size = db_pool_size  # PostgreSQL connections kept open (a worker: its slots)

    @cached_property
    def engine(self) -> Engine:
        url = self.settings.effective_database_url
        with self.errors():
            engine = create_store_engine(url, pool_size=self.db_pool_size)
            ensure_schema(engine, auto_upgrade=self.settings.uses_embedded_database)
        return engine

    @cached_property
    def repo(self) -> JobRepository:
        return JobRepository(self.engine)

    @cached_property
    def redis(self) -> Redis:
        return connect_redis(self.settings)

    @cached_property
    def producer(self) -> Producer:
        return Producer(self.redis)

    @cached_property
    def redis_url(self) -> str:
        return resolve_redis_url(self.settings)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Translate driver errors from either backend into jobctl's one-line errors."""
        try:
            yield
        except JobctlError:
            raise
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            url = self.settings.redis_url or "the embedded Redis"
            raise RedisUnavailableError(
                f"cannot reach Redis at {mask_url(url)}: {redact(str(exc))}"
            ) from None
        except database_errors() as exc:
            raise DatabaseUnavailableError(
                describe_db_error(self.settings.effective_database_url, exc)
            ) from None

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "redis" in self.__dict__:
            self.redis.close()
