"""The HTTP API's own settings, from the environment (read here, at the CLI's level of the layers).

- JOBCTL_API_RATE_LIMIT: requests one organisation may make per window (default 600; 0: no limit).
- JOBCTL_API_RATE_WINDOW: the window in seconds (default 60). A fixed window counted in Redis,
  so every `--workers` process (and every host sharing the Redis) counts the same requests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from jobctl.domain.errors import ConfigError


@dataclass(frozen=True)
class HttpConfig:
    rate_limit: int = 600
    rate_window_s: int = 60


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum}")
    return value


def load_http_config(env: Mapping[str, str] | None = None) -> HttpConfig:
    env = os.environ if env is None else env
    return HttpConfig(
        rate_limit=_int(env, "JOBCTL_API_RATE_LIMIT", 600, 0),
        rate_window_s=_int(env, "JOBCTL_API_RATE_WINDOW", 60, 1),
    )
