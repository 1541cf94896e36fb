"""The one way jobctl gets a Redis client: the configured URL, or the embedded server started on demand.

Connection failures become RedisUnavailableError with the URL masked, so no caller can leak a password.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import redis
from redis.exceptions import RedisError

from jobctl.domain.errors import ConfigError, RedisUnavailableError
from jobctl.domain.redaction import mask_url, redact
from jobctl.queue.embedded_redis import ensure_embedded_redis
from jobctl.settings import Settings

# Long enough for a loaded server across a network, short enough that `jobctl queues` fails fast.
CONNECT_TIMEOUT_SECONDS = 5.0
# Re-check a pooled connection idle this long before use: catches Redis restarts between commands.
HEALTH_CHECK_INTERVAL_SECONDS = 30


def _password(url: str) -> tuple[str, ...]:
    """The URL's password as a literal to scrub: some client errors echo connection arguments."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return ()
    return (unquote(password),) if password else ()


def resolve_redis_url(settings: Settings) -> str:
    """The configured Redis URL, or the embedded server's (started if it is not running)."""
    if settings.redis_url is not None:
        return settings.redis_url
    return ensure_embedded_redis(settings.data_dir)


def connect_redis(settings: Settings, *, check: bool = True) -> redis.Redis:
    """A client for jobctl's Redis; with `check`, PING it first so problems surface here, clearly.

    Responses stay bytes (decode_responses=False): RQ requires it. No socket_timeout is set because
    RQ workers block on BLPOP; RQ raises the timeout of its own connections as it needs.
    """
    url = resolve_redis_url(settings)
    try:
        client = redis.Redis.from_url(
            url,
            decode_responses=False,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
        )
    except ValueError as exc:
        raise ConfigError(f"invalid Redis URL {mask_url(url)}: {redact(str(exc))}") from None
    if check:
        try:
            client.ping()
        except (RedisError, OSError) as exc:
            client.close()
            message = f"cannot reach Redis at {mask_url(url)}: {redact(str(exc), _password(url))}"
            raise RedisUnavailableError(message) from None
    return client
