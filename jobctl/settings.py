"""jobctl's configuration: defaults, then the TOML config file, then JOBCTL_* environment variables.

Stays light on purpose (stdlib + jobctl.domain): every command, even `jobctl --help`, may load it.
Every bad value is a one-line ConfigError naming the file (or variable) and the key, with secrets masked.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from jobctl.domain.errors import ConfigError
from jobctl.domain.queues import DEFAULT_QUEUES, QueueSpec, with_overrides
from jobctl.domain.redaction import mask_url, redact
from jobctl.domain.retry import DEFAULT_RETRY_INTERVALS, parse_intervals
from jobctl.domain.token_keys import TOKEN_KEYS_ENV, parse_token_keys
from jobctl.oauth_config import KEYS as _OAUTH_KEYS
from jobctl.oauth_config import OAuthSettings, oauth_from_env, oauth_from_table
from jobctl.oauth_config import sources as _oauth_sources
from jobctl.retention_config import KEYS as _RETENTION_KEYS
from jobctl.retention_config import RetentionSettings, retention_from_env, retention_from_table
from jobctl.retention_config import sources as _retention_sources

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_TOP_LEVEL_KEYS = frozenset(
    {
        "redis_url",
        "database_url",
        "data_dir",
        "retry_intervals",
        "log_level",
        "queues",
        "limits",
        "worker",
        "fetch",
        "documents",
        "content",
        "jobs",
        "platforms",
        "accounts",
        "oauth",
        "retention",
        "analytics",
    }
)
_QUEUE_KEYS = frozenset({"concurrency", "lock_seconds"})
_LIMIT_KEYS = frozenset({"org_active_jobs", "organizations"})
_WORKER_KEYS = frozenset({"heartbeat_seconds", "stall_seconds", "stats_log_seconds", "reconcile_seconds"})
_FETCH_KEYS = frozenset({"allow_private_addresses", "max_bytes", "timeout_s"})
_JOBS_KEYS = frozenset({"log_max_lines", "log_max_bytes", "log_ttl_seconds", "max_deferrals"})
_CONTENT_KEYS = frozenset(
    {"api_url", "model", "api_key", "timeout_s", "image_api_url", "image_model", "image_api_key"}
)
# publish-content's platform APIs: the documented production base URLs (each client module cites
# its docs); tests and self-hosted gateways point them elsewhere.
DEFAULT_PLATFORM_URLS: dict[str, str] = {
    "twitter": "https://api.x.com",
    "linkedin": "https://api.linkedin.com",
    "facebook": "https://graph.facebook.com/v21.0",
    "instagram": "https://graph.facebook.com/v21.0",
    "threads": "https://graph.threads.net/v1.0",
}
PLATFORM_URL_ENV = {
    "twitter": "JOBCTL_X_API_URL", "linkedin": "JOBCTL_LINKEDIN_API_URL",
    "facebook": "JOBCTL_FACEBOOK_API_URL", "instagram": "JOBCTL_INSTAGRAM_API_URL",
    "threads": "JOBCTL_THREADS_API_URL",
}  # fmt: skip
_PLATFORM_KEYS = frozenset({*(f"{p}_api_url" for p in DEFAULT_PLATFORM_URLS), "timeout_s", "media_url"})
_ANALYTICS_KEYS = frozenset({"lookback_days", "max_posts"})
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class Settings:
    """The resolved configuration every layer receives (nothing below the CLI reads os.environ)."""

    redis_url: str | None  # None -> the embedded Redis in data_dir
    database_url: str | None  # None -> SQLite file in data_dir
    data_dir: Path
    config_path: Path | None = None  # the TOML file actually read, if any
    retry_intervals: tuple[int, ...] = DEFAULT_RETRY_INTERVALS
    queues: dict[str, QueueSpec] = field(default_factory=lambda: dict(DEFAULT_QUEUES))
    org_active_limit: int = 50
    org_limits: dict[str, int] = field(default_factory=dict)
    log_level: str = "INFO"
    heartbeat_seconds: float = 5.0
    # A worker silent this long is dead. 15 s + one sweep (heartbeat_seconds) keeps recovery
    # of a dead worker's jobs under 30 s, whatever the queue's lock.
    stall_seconds: float = 15.0
    stats_log_seconds: float = 60.0  # per-queue stats log line of each worker
    reconcile_seconds: float = 30.0  # how often (fleet-wide, one at a time) SQL and Redis are compared
    # process-document reads paths only under this directory (None: no paths, only URLs)
    documents_root: Path | None = None
    # The context engine's fetcher: private/loopback addresses are refused unless this is on.
    fetch_allow_private_addresses: bool = False
    fetch_max_bytes: int = 10 * 1024 * 1024  # body cap after decompression
    fetch_timeout_s: float = 30.0  # whole fetch, redirects included
    # A job's log lines kept in Redis (jobctl.queue.progress): the last N lines, at most K bytes,
    # and both its log and progress keys live this long after the job's last write (7 days).
    log_max_lines: int = 200
    log_max_bytes: int = 65536
    log_ttl_seconds: int = 7 * 86400
    # A job may ask to wait (a rate limit's Retry-After) this many times without spending a
    # retry; the next such request is an ordinary retryable failure (a job deferred for ever
    # would never end). 50 deferrals of X's 15-minute windows cover half a day.
    max_deferrals: int = 50
    # The content factory's OpenAI-compatible chat-completions endpoint (None: the offline provider).
    content_api_url: str | None = None
    content_model: str = "gpt-4o-mini"
    content_api_key: str | None = field(default=None, repr=False)  # never shown: describe() says "set"
    content_timeout_s: float = 120.0  # total deadline of one job's requests, retries included
    # generate-image's OpenAI-compatible images endpoint (None: the offline card renderer).
    image_api_url: str | None = None
    image_model: str = "gpt-image-1"
    image_api_key: str | None = field(default=None, repr=False)
    # publish-content: each platform's API base URL, one operation's total deadline, and the
    # public base URL under which the data dir's images/ are served (Instagram needs one).
    platform_urls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PLATFORM_URLS))
    publish_timeout_s: float = 30.0
    publish_media_url: str | None = None
    # Fernet keys of the social-account tokens at rest, newest first (jobctl.domain.token_keys):
    # never shown (describe() says "set" and how many), never read from the database.
    token_keys: tuple[str, ...] = field(default=(), repr=False)
    # refresh-token: token endpoints, app credentials (secrets repr=False), refresh window.
    oauth: OAuthSettings = field(default_factory=OAuthSettings)
    # How long finished jobs, firings, analytics and audit rows stay (jobctl.retention_config).
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    # sync-analytics: how far back a sync lists each account's posts when its payload names no
    # `since`, and the most posts it collects per account and sync (bounds one job's requests).
    analytics_lookback_days: int = 30
    analytics_max_posts: int = 200

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'jobctl.db'}"

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    def org_limit(self, organization_id: str) -> int:
        """The active-job limit of one organisation: its own override, else the global limit."""
        return self.org_limits.get(organization_id, self.org_active_limit)

    def describe(self) -> dict[str, object]:
        """A JSON-ready view for `jobctl config` and `jobctl doctor`; URLs have passwords masked."""
        return {
            "config_path": str(self.config_path) if self.config_path else None,
            "data_dir": str(self.data_dir),
            "redis_url": mask_url(self.redis_url) if self.redis_url else None,
            "embedded_redis": self.uses_embedded_redis,
            "database_url": mask_url(self.effective_database_url),
            "embedded_database": self.uses_embedded_database,
            "retry_intervals": list(self.retry_intervals),
            "queues": {
                name: {"concurrency": spec.concurrency, "lock_seconds": spec.lock_seconds}
                for name, spec in self.queues.items()
            },
            "limits": {"org_active_jobs": self.org_active_limit, "organizations": dict(self.org_limits)},
            "log_level": self.log_level,
            "worker": {"heartbeat_seconds": self.heartbeat_seconds, "stall_seconds": self.stall_seconds},
            "documents": {"root": str(self.documents_root) if self.documents_root else None},
            "fetch": {
                "allow_private_addresses": self.fetch_allow_private_addresses,
                "max_bytes": self.fetch_max_bytes,
                "timeout_s": self.fetch_timeout_s,
            },
            "jobs": {
                "log_max_lines": self.log_max_lines,
                "log_max_bytes": self.log_max_bytes,
                "log_ttl_seconds": self.log_ttl_seconds,
                "max_deferrals": self.max_deferrals,
            },
            "content": {
                "api_url": mask_url(self.content_api_url) if self.content_api_url else None,
                "model": self.content_model,
                "api_key": "set" if self.content_api_key else None,
                "timeout_s": self.content_timeout_s,
                "image_api_url": mask_url(self.image_api_url) if self.image_api_url else None,
                "image_model": self.image_model,
                "image_api_key": "set" if self.image_api_key else None,
            },
            "platforms": {
                **{f"{p}_api_url": mask_url(u) for p, u in self.platform_urls.items()},
                "timeout_s": self.publish_timeout_s,
                "media_url": mask_url(self.publish_media_url) if self.publish_media_url else None,
            },
            "accounts": {
                "token_keys": "set" if self.token_keys else None,
                "token_key_count": len(self.token_keys),
            },
            "oauth": self.oauth.describe(),
            "retention": self.retention.describe(),
            "analytics": {
                "lookback_days": self.analytics_lookback_days,
                "max_posts": self.analytics_max_posts,
            },
        }


def _get(env: Mapping[str, str], name: str) -> str | None:
    """An environment value, with empty strings counting as unset (`FOO= jobctl ...`)."""
    value = env.get(name, "").strip()
    return value or None


def _home(env: Mapping[str, str]) -> Path:
    home = _get(env, "HOME")
    return Path(home) if home else Path.home()


def _xdg_dir(env: Mapping[str, str], name: str) -> Path | None:
    # The XDG spec says relative values are invalid and must be ignored.
    value = _get(env, name)
    return Path(value) if value and os.path.isabs(value) else None


def default_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """$JOBCTL_DATA_DIR, else $XDG_DATA_HOME/jobctl, else ~/.local/share/jobctl."""
    env = os.environ if env is None else env
    explicit = _get(env, "JOBCTL_DATA_DIR")
    if explicit:
        return Path(explicit).expanduser().absolute()
    base = _xdg_dir(env, "XDG_DATA_HOME") or _home(env) / ".local" / "share"
    return base / "jobctl"


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/jobctl/config.toml, else ~/.config/jobctl/config.toml."""
    env = os.environ if env is None else env
    base = _xdg_dir(env, "XDG_CONFIG_HOME") or _home(env) / ".config"
    return base / "jobctl" / "config.toml"


class _Source:
    """Where values come from, so every error names the file (or variable) and the key."""

    def __init__(self, label: str) -> None:
        self.label = label

    def error(self, key: str, problem: str) -> ConfigError:
        # One line, and redacted: problems may quote user input.
        text = redact(f"{self.label}: {key}: {problem}").replace("\n", " ")
        return ConfigError(text)


_ENV = _Source("environment")


def _type_name(value: object) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "array",
        dict: "table",
    }.get(type(value), type(value).__name__)


def _want_int(src: _Source, key: str, value: object, *, minimum: int) -> int:
    # bool is an int subclass in Python; `concurrency = true` is a mistake, not 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise src.error(key, f"expected a whole number, got {_type_name(value)}")
    if value < minimum:
        raise src.error(key, f"must be at least {minimum}, got {value}")
    return value


def _want_seconds(src: _Source, key: str, value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise src.error(key, f"expected a number of seconds, got {_type_name(value)}")
    if not value > 0 or value == float("inf"):
        raise src.error(key, f"must be a positive number of seconds, got {value}")
    return float(value)


def _want_table(src: _Source, key: str, value: object, allowed: frozenset[str] | None) -> dict[str, object]:
    if not isinstance(value, dict):
        raise src.error(key, f"expected a table, got {_type_name(value)}")
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise src.error(f"{key}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(allowed))})")
    return value


def _redis_url(src: _Source, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise src.error(key, f"expected a URL string, got {_type_name(value)}")
    url = value.strip()
    if not url.startswith(_REDIS_SCHEMES):
        raise src.error(key, f"{mask_url(url)!r} is not a Redis URL (use redis://, rediss:// or unix://)")
    return url


def normalise_database_url(url: str) -> str:
    """Point bare PostgreSQL URLs at psycopg 3, the driver jobctl ships with."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _database_url(src: _Source, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise src.error(key, f"expected a URL string, got {_type_name(value)}")
    url = normalise_database_url(value.strip())
    scheme = url.split("://", 1)[0] if "://" in url else ""
    # Only the two databases jobctl supports; an unknown scheme would fail later, less clearly.
    if not (scheme == "sqlite" or scheme.startswith("sqlite+") or scheme.startswith("postgresql")):
        raise src.error(key, f"{mask_url(url)!r} is not a SQLite or PostgreSQL URL")
    return url


def _log_level(src: _Source, key: str, value: object) -> str:
    if not isinstance(value, str) or value.strip().upper() not in LOG_LEVELS:
        shown = repr(value) if isinstance(value, str) else _type_name(value)
        raise src.error(key, f"unknown log level {shown} (use one of {', '.join(LOG_LEVELS)})")
    return value.strip().upper()


def _path(src: _Source, key: str, value: object, relative_to: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise src.error(key, f"expected a path string, got {_type_name(value)}")
    path = Path(value.strip()).expanduser()
    # A relative data_dir in a config file means "next to the config file", not "wherever I ran from".
    return path if path.is_absolute() else (relative_to / path).absolute()


def _read_toml(path: Path) -> dict[str, object]:
    src = _Source(str(path))
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise src.error("syntax", str(exc)) from None
    except OSError as exc:
        raise ConfigError(redact(f"{path}: cannot read: {exc.strerror or exc}")) from None


def _choose_config(config_path: Path | None, env: Mapping[str, str]) -> Path | None:
    """The file to read: the argument, else $JOBCTL_CONFIG (both must exist), else the default if present."""
    explicit = config_path if config_path is not None else _get(env, "JOBCTL_CONFIG")
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            origin = "" if config_path is not None else " (named by JOBCTL_CONFIG)"
            raise ConfigError(f"{path}: config file not found{origin}")
        return path
    default = default_config_path(env)
    return default if default.is_file() else None


def _apply_queues(src: _Source, raw: object, queues: dict[str, QueueSpec]) -> None:
    table = _want_table(src, "queues", raw, None)
    for name, body in table.items():
        key = f'queues."{name}"'
        if name not in queues:
            raise src.error(key, f"unknown queue {name!r} (known: {', '.join(sorted(queues))})")
        spec = _want_table(src, key, body, _QUEUE_KEYS)
        concurrency = spec.get("concurrency")
        lock_seconds = spec.get("lock_seconds")
        queues[name] = with_overrides(
            queues[name],
            None if concurrency is None else _want_int(src, f"{key}.concurrency", concurrency, minimum=1),
            None if lock_seconds is None else _want_int(src, f"{key}.lock_seconds", lock_seconds, minimum=1),
        )


def _apply_limits(src: _Source, raw: object, s: Settings) -> Settings:
    limits = _want_table(src, "limits", raw, _LIMIT_KEYS)
    if "org_active_jobs" in limits:
        s = replace(
            s, org_active_limit=_want_int(src, "limits.org_active_jobs", limits["org_active_jobs"], minimum=0)
        )
    orgs = _want_table(src, "limits.organizations", limits.get("organizations", {}), None)
    for org, n in orgs.items():
        s.org_limits[org] = _want_int(src, f'limits.organizations."{org}"', n, minimum=0)
    return s


def _apply_worker(src: _Source, raw: object, s: Settings) -> Settings:
    worker = _want_table(src, "worker", raw, _WORKER_KEYS)
    if "heartbeat_seconds" in worker:
        s = replace(
            s, heartbeat_seconds=_want_seconds(src, "worker.heartbeat_seconds", worker["heartbeat_seconds"])
        )
    if "stall_seconds" in worker:
        s = replace(s, stall_seconds=_want_seconds(src, "worker.stall_seconds", worker["stall_seconds"]))
    if "reconcile_seconds" in worker:
        s = replace(
            s, reconcile_seconds=_want_seconds(src, "worker.reconcile_seconds", worker["reconcile_seconds"])
        )
    if "stats_log_seconds" in worker:
        s = replace(
            s, stats_log_seconds=_want_seconds(src, "worker.stats_log_seconds", worker["stats_log_seconds"])
        )
    return s


def _apply_fetch(src: _Source, raw: object, s: Settings) -> Settings:
    table = _want_table(src, "fetch", raw, _FETCH_KEYS)
    if "allow_private_addresses" in table:
        value = table["allow_private_addresses"]
        if not isinstance(value, bool):
            raise src.error("fetch.allow_private_addresses", f"expected a boolean, got {_type_name(value)}")
        s = replace(s, fetch_allow_private_addresses=value)
    if "max_bytes" in table:
        s = replace(s, fetch_max_bytes=_want_int(src, "fetch.max_bytes", table["max_bytes"], minimum=1))
    if "timeout_s" in table:
        s = replace(s, fetch_timeout_s=_want_seconds(src, "fetch.timeout_s", table["timeout_s"]))
    return s


def _apply_jobs(src: _Source, raw: object, s: Settings) -> Settings:
    jobs = _want_table(src, "jobs", raw, _JOBS_KEYS)
    values = {
        key: _want_int(src, f"jobs.{key}", jobs[key], minimum=low)
        for key, low in _JOBS_MINIMUM.items()
        if key in jobs
    }
    return _with_jobs(s, values)


def _jobs_from_env(s: Settings, env: Mapping[str, str]) -> Settings:
    values = {}
    for key, variable in _JOBS_ENV:
        if (value := _get(env, variable)) is not None:
            values[key] = _env_int(variable, value, _JOBS_MINIMUM[key])
    return _with_jobs(s, values)


def _with_jobs(s: Settings, values: dict[str, int]) -> Settings:
    return replace(
        s,
        log_max_lines=values.get("log_max_lines", s.log_max_lines),
        log_max_bytes=values.get("log_max_bytes", s.log_max_bytes),
        log_ttl_seconds=values.get("log_ttl_seconds", s.log_ttl_seconds),
        max_deferrals=values.get("max_deferrals", s.max_deferrals),
    )


# The smallest sane caps: one line must fit the byte cap (ProgressWriter truncates to it).
_JOBS_MINIMUM = {"log_max_lines": 1, "log_max_bytes": 256, "log_ttl_seconds": 1, "max_deferrals": 0}
_JOBS_ENV = (
    ("log_max_lines", "JOBCTL_LOG_MAX_LINES"),
    ("log_max_bytes", "JOBCTL_LOG_MAX_BYTES"),
    ("log_ttl_seconds", "JOBCTL_LOG_TTL_SECONDS"),
    ("max_deferrals", "JOBCTL_MAX_DEFERRALS"),
)


def _env_int(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _ENV.error(name, f"expected a whole number, got {value!r}") from None
    return _want_int(_ENV, name, number, minimum=minimum)


def _content_url(src: _Source, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise src.error(key, f"expected an http:// or https:// URL, got {mask_url(str(value))!r}")
    return value.rstrip("/")


def _want_text(src: _Source, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise src.error(key, f"expected a non-empty string, got {_type_name(value)}")
    return value.strip()


def _apply_content(src: _Source, raw: object, s: Settings) -> Settings:
    table = _want_table(src, "content", raw, _CONTENT_KEYS)
    if "api_url" in table:
        s = replace(s, content_api_url=_content_url(src, "content.api_url", table["api_url"]))
    if "model" in table:
        s = replace(s, content_model=_want_text(src, "content.model", table["model"]))
    if "api_key" in table:
        s = replace(s, content_api_key=_want_text(src, "content.api_key", table["api_key"]))
    if "timeout_s" in table:
        s = replace(s, content_timeout_s=_want_seconds(src, "content.timeout_s", table["timeout_s"]))
    if "image_api_url" in table:
        s = replace(s, image_api_url=_content_url(src, "content.image_api_url", table["image_api_url"]))
    if "image_model" in table:
        s = replace(s, image_model=_want_text(src, "content.image_model", table["image_model"]))
    if "image_api_key" in table:
        s = replace(s, image_api_key=_want_text(src, "content.image_api_key", table["image_api_key"]))
    return s


def _apply_platforms(src: _Source, raw: object, s: Settings) -> Settings:
    table = _want_table(src, "platforms", raw, _PLATFORM_KEYS)
    urls = dict(s.platform_urls)
    for platform in DEFAULT_PLATFORM_URLS:
        if (key := f"{platform}_api_url") in table:
            urls[platform] = _content_url(src, f"platforms.{key}", table[key])
    s = replace(s, platform_urls=urls)
    if "timeout_s" in table:
        s = replace(s, publish_timeout_s=_want_seconds(src, "platforms.timeout_s", table["timeout_s"]))
    if "media_url" in table:
        s = replace(s, publish_media_url=_content_url(src, "platforms.media_url", table["media_url"]))
    return s


def _apply_accounts(src: _Source, raw: object, s: Settings) -> Settings:
    table = _want_table(src, "accounts", raw, frozenset({"token_keys"}))
    if "token_keys" in table:
        s = replace(s, token_keys=_token_keys(src, "accounts.token_keys", table["token_keys"]))
    return s


def _token_keys(src: _Source, key: str, value: object) -> tuple[str, ...]:
    try:
        return parse_token_keys(value)
    except ValueError as exc:  # the message numbers the bad key, never quotes it
        raise src.error(key, str(exc)) from None


def _apply_analytics(src: _Source, raw: object, s: Settings) -> Settings:
    table = _want_table(src, "analytics", raw, _ANALYTICS_KEYS)
    if "lookback_days" in table:
        days = _want_int(src, "analytics.lookback_days", table["lookback_days"], minimum=1)
        s = replace(s, analytics_lookback_days=days)
    if "max_posts" in table:
        posts = _want_int(src, "analytics.max_posts", table["max_posts"], minimum=1)
        s = replace(s, analytics_max_posts=posts)
    return s


def _analytics_env(s: Settings, env: Mapping[str, str]) -> Settings:
    if (value := _get(env, "JOBCTL_ANALYTICS_LOOKBACK_DAYS")) is not None:
        s = replace(s, analytics_lookback_days=_env_int("JOBCTL_ANALYTICS_LOOKBACK_DAYS", value, 1))
    if (value := _get(env, "JOBCTL_ANALYTICS_MAX_POSTS")) is not None:
        s = replace(s, analytics_max_posts=_env_int("JOBCTL_ANALYTICS_MAX_POSTS", value, 1))
    return s


def _platform_env(s: Settings, env: Mapping[str, str]) -> Settings:
    urls = dict(s.platform_urls)
    for platform, name in PLATFORM_URL_ENV.items():
        if (value := _get(env, name)) is not None:
            urls[platform] = _content_url(_ENV, name, value)
    s = replace(s, platform_urls=urls)
    if (value := _get(env, "JOBCTL_PUBLISH_TIMEOUT_SECONDS")) is not None:
        s = replace(s, publish_timeout_s=_env_seconds("JOBCTL_PUBLISH_TIMEOUT_SECONDS", value))
    if (value := _get(env, "JOBCTL_PUBLISH_MEDIA_URL")) is not None:
        s = replace(s, publish_media_url=_content_url(_ENV, "JOBCTL_PUBLISH_MEDIA_URL", value))
    return s


def _accounts_env(s: Settings, env: Mapping[str, str]) -> Settings:
    if (value := _get(env, TOKEN_KEYS_ENV)) is not None:
        s = replace(s, token_keys=_token_keys(_ENV, TOKEN_KEYS_ENV, value))
    return s


def _sections_env(s: Settings, env: Mapping[str, str]) -> Settings:
    """The sections that parse their own variables (jobctl.oauth_config, retention_config)."""
    s = replace(s, oauth=oauth_from_env(s.oauth, env, _ENV.error))
    return replace(s, retention=retention_from_env(s.retention, env, _ENV.error))


def _env_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise _ENV.error(name, f"expected 1/0, true/false, yes/no or on/off, got {value!r}")


def _toml_intervals(src: _Source, value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise src.error("retry_intervals", f"expected an array of seconds, got {_type_name(value)}")
    return tuple(_want_int(src, f"retry_intervals[{i}]", v, minimum=0) for i, v in enumerate(value))


def _env_intervals(value: str) -> tuple[int, ...]:
    try:
        return parse_intervals(value)
    except ValueError as exc:
        raise _ENV.error("JOBCTL_RETRY_INTERVALS", str(exc)) from None


def _env_seconds(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise _ENV.error(name, f"expected a number of seconds, got {value!r}") from None
    return _want_seconds(_ENV, name, number)


def _from_file(path: Path | None, data: dict[str, object], env: Mapping[str, str]) -> Settings:
    """Defaults overlaid with the config file's values (validated, with file and key in errors)."""
    src = _Source(str(path))
    unknown = sorted(set(data) - _TOP_LEVEL_KEYS)
    if unknown:
        raise src.error(unknown[0], f"unknown key (known: {', '.join(sorted(_TOP_LEVEL_KEYS))})")
    config_dir = path.parent.absolute() if path is not None else Path.cwd()
    s = Settings(redis_url=None, database_url=None, data_dir=default_data_dir(env), config_path=path)
    if "redis_url" in data:
        s = replace(s, redis_url=_redis_url(src, "redis_url", data["redis_url"]))
    if "database_url" in data:
        s = replace(s, database_url=_database_url(src, "database_url", data["database_url"]))
    if "data_dir" in data:
        s = replace(s, data_dir=_path(src, "data_dir", data["data_dir"], config_dir))
    if "retry_intervals" in data:
        s = replace(s, retry_intervals=_toml_intervals(src, data["retry_intervals"]))
    if "log_level" in data:
        s = replace(s, log_level=_log_level(src, "log_level", data["log_level"]))
    if "queues" in data:
        _apply_queues(src, data["queues"], s.queues)
    if "limits" in data:
        s = _apply_limits(src, data["limits"], s)
    if "worker" in data:
        s = _apply_worker(src, data["worker"], s)
    if "documents" in data:
        s = _apply_documents(src, data["documents"], s, config_dir)
    return _apply_sections(src, data, s)


def _apply_sections(src: _Source, data: dict[str, object], s: Settings) -> Settings:
    sections = (
        ("fetch", _apply_fetch), ("content", _apply_content), ("jobs", _apply_jobs),
        ("platforms", _apply_platforms), ("accounts", _apply_accounts), ("oauth", _apply_oauth),
        ("retention", _apply_retention),
        ("analytics", _apply_analytics),
    )  # fmt: skip
    for key, apply in sections:
        if key in data:
            s = apply(src, data[key], s)
    return s


def _apply_oauth(src: _Source, raw: object, s: Settings) -> Settings:
    table = _want_table(src, "oauth", raw, _OAUTH_KEYS)
    return replace(s, oauth=oauth_from_table(s.oauth, table, src.error))


def _apply_retention(src: _Source, raw: object, s: Settings) -> Settings:
    table = _want_table(src, "retention", raw, _RETENTION_KEYS)
    return replace(s, retention=retention_from_table(s.retention, table, src.error))


def _apply_documents(src: _Source, value: object, s: Settings, config_dir: Path) -> Settings:
    table = _want_table(src, "documents", value, frozenset({"root"}))
    if "root" in table:
        s = replace(s, documents_root=_path(src, "documents.root", table["root"], config_dir))
    return s


def _with_env(s: Settings, env: Mapping[str, str]) -> Settings:
    """The environment overrides the file, variable by variable; empty values count as unset.
    Each section's variables are applied in turn (a list, not a chain of calls, so a new section
    cannot cut the ones after it off: that happened once, to the analytics variables)."""
    for step in _ENV_STEPS:
        s = step(s, env)
    return s


def _core_env(s: Settings, env: Mapping[str, str]) -> Settings:
    if (value := _get(env, "JOBCTL_REDIS_URL")) is not None:
        s = replace(s, redis_url=_redis_url(_ENV, "JOBCTL_REDIS_URL", value))
    if (value := _get(env, "JOBCTL_DATABASE_URL")) is not None:
        s = replace(s, database_url=_database_url(_ENV, "JOBCTL_DATABASE_URL", value))
    if _get(env, "JOBCTL_DATA_DIR") is not None:
        s = replace(s, data_dir=default_data_dir(env))
    if (value := _get(env, "JOBCTL_RETRY_INTERVALS")) is not None:
        s = replace(s, retry_intervals=_env_intervals(value))
    if (value := _get(env, "JOBCTL_LOG_LEVEL")) is not None:
        s = replace(s, log_level=_log_level(_ENV, "JOBCTL_LOG_LEVEL", value))
    if (value := _get(env, "JOBCTL_HEARTBEAT_SECONDS")) is not None:
        s = replace(s, heartbeat_seconds=_env_seconds("JOBCTL_HEARTBEAT_SECONDS", value))
    if (value := _get(env, "JOBCTL_STALL_SECONDS")) is not None:
        s = replace(s, stall_seconds=_env_seconds("JOBCTL_STALL_SECONDS", value))
    if (value := _get(env, "JOBCTL_RECONCILE_SECONDS")) is not None:
        s = replace(s, reconcile_seconds=_env_seconds("JOBCTL_RECONCILE_SECONDS", value))
    if (value := _get(env, "JOBCTL_STATS_LOG_SECONDS")) is not None:
        s = replace(s, stats_log_seconds=_env_seconds("JOBCTL_STATS_LOG_SECONDS", value))
    if (value := _get(env, "JOBCTL_DOCUMENTS_ROOT")) is not None:
        s = replace(s, documents_root=Path(value).expanduser().absolute())
    if (value := _get(env, "JOBCTL_FETCH_ALLOW_PRIVATE")) is not None:
        s = replace(s, fetch_allow_private_addresses=_env_bool("JOBCTL_FETCH_ALLOW_PRIVATE", value))
    return s


def _content_env(s: Settings, env: Mapping[str, str]) -> Settings:
    if (value := _get(env, "JOBCTL_CONTENT_API_URL")) is not None:
        s = replace(s, content_api_url=_content_url(_ENV, "JOBCTL_CONTENT_API_URL", value))
    if (value := _get(env, "JOBCTL_CONTENT_MODEL")) is not None:
        s = replace(s, content_model=value.strip())
    if (value := _get(env, "JOBCTL_CONTENT_API_KEY")) is not None:
        s = replace(s, content_api_key=value.strip())
    if (value := _get(env, "JOBCTL_CONTENT_TIMEOUT_SECONDS")) is not None:
        s = replace(s, content_timeout_s=_env_seconds("JOBCTL_CONTENT_TIMEOUT_SECONDS", value))
    if (value := _get(env, "JOBCTL_IMAGE_API_URL")) is not None:
        s = replace(s, image_api_url=_content_url(_ENV, "JOBCTL_IMAGE_API_URL", value))
    if (value := _get(env, "JOBCTL_IMAGE_MODEL")) is not None:
        s = replace(s, image_model=value.strip())
    if (value := _get(env, "JOBCTL_IMAGE_API_KEY")) is not None:
        s = replace(s, image_api_key=value.strip())
    return s


_ENV_STEPS = (
    _core_env, _jobs_from_env, _content_env, _platform_env, _accounts_env, _sections_env, _analytics_env,
)  # fmt: skip


def load_settings(config_path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Resolve the settings: environment > config file > defaults. Raises ConfigError."""
    env = os.environ if env is None else env
    path = _choose_config(config_path, env)
    data = _read_toml(path) if path is not None else {}
    settings = _with_env(_from_file(path, data, env), env)
    # A stall window no longer than the heartbeat would declare healthy workers dead between beats.
    if settings.stall_seconds <= settings.heartbeat_seconds:
        raise ConfigError(
            f"{path or 'environment'}: worker.stall_seconds ({settings.stall_seconds:g}) must be greater "
            f"than worker.heartbeat_seconds ({settings.heartbeat_seconds:g})"
        )
    return settings


# Where each setting can come from: (name, environment variable or None, path in the config file).
_SOURCES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("redis_url", "JOBCTL_REDIS_URL", ("redis_url",)),
    ("database_url", "JOBCTL_DATABASE_URL", ("database_url",)),
    ("data_dir", "JOBCTL_DATA_DIR", ("data_dir",)),
    ("retry_intervals", "JOBCTL_RETRY_INTERVALS", ("retry_intervals",)),
    ("log_level", "JOBCTL_LOG_LEVEL", ("log_level",)),
    ("queues", None, ("queues",)),
    ("limits", None, ("limits",)),
    ("worker.heartbeat_seconds", "JOBCTL_HEARTBEAT_SECONDS", ("worker", "heartbeat_seconds")),
    ("worker.stall_seconds", "JOBCTL_STALL_SECONDS", ("worker", "stall_seconds")),
    ("worker.reconcile_seconds", "JOBCTL_RECONCILE_SECONDS", ("worker", "reconcile_seconds")),
    ("worker.stats_log_seconds", "JOBCTL_STATS_LOG_SECONDS", ("worker", "stats_log_seconds")),
    ("documents.root", "JOBCTL_DOCUMENTS_ROOT", ("documents", "root")),
    ("fetch.allow_private_addresses", "JOBCTL_FETCH_ALLOW_PRIVATE", ("fetch", "allow_private_addresses")),
    ("fetch.max_bytes", None, ("fetch", "max_bytes")),
    ("fetch.timeout_s", None, ("fetch", "timeout_s")),
    ("jobs.log_max_lines", "JOBCTL_LOG_MAX_LINES", ("jobs", "log_max_lines")),
    ("jobs.log_max_bytes", "JOBCTL_LOG_MAX_BYTES", ("jobs", "log_max_bytes")),
    ("jobs.log_ttl_seconds", "JOBCTL_LOG_TTL_SECONDS", ("jobs", "log_ttl_seconds")),
    ("jobs.max_deferrals", "JOBCTL_MAX_DEFERRALS", ("jobs", "max_deferrals")),
    ("content.api_url", "JOBCTL_CONTENT_API_URL", ("content", "api_url")),
    ("content.model", "JOBCTL_CONTENT_MODEL", ("content", "model")),
    ("content.api_key", "JOBCTL_CONTENT_API_KEY", ("content", "api_key")),
    ("content.timeout_s", "JOBCTL_CONTENT_TIMEOUT_SECONDS", ("content", "timeout_s")),
    ("content.image_api_url", "JOBCTL_IMAGE_API_URL", ("content", "image_api_url")),
    ("content.image_model", "JOBCTL_IMAGE_MODEL", ("content", "image_model")),
    ("content.image_api_key", "JOBCTL_IMAGE_API_KEY", ("content", "image_api_key")),
    ("platforms.twitter_api_url", "JOBCTL_X_API_URL", ("platforms", "twitter_api_url")),
    ("platforms.linkedin_api_url", "JOBCTL_LINKEDIN_API_URL", ("platforms", "linkedin_api_url")),
    ("platforms.facebook_api_url", "JOBCTL_FACEBOOK_API_URL", ("platforms", "facebook_api_url")),
    ("platforms.instagram_api_url", "JOBCTL_INSTAGRAM_API_URL", ("platforms", "instagram_api_url")),
    ("platforms.threads_api_url", "JOBCTL_THREADS_API_URL", ("platforms", "threads_api_url")),
    ("platforms.timeout_s", "JOBCTL_PUBLISH_TIMEOUT_SECONDS", ("platforms", "timeout_s")),
    ("platforms.media_url", "JOBCTL_PUBLISH_MEDIA_URL", ("platforms", "media_url")),
    ("accounts.token_keys", TOKEN_KEYS_ENV, ("accounts", "token_keys")),
    *_oauth_sources(),
    *_retention_sources(),
    ("analytics.lookback_days", "JOBCTL_ANALYTICS_LOOKBACK_DAYS", ("analytics", "lookback_days")),
    ("analytics.max_posts", "JOBCTL_ANALYTICS_MAX_POSTS", ("analytics", "max_posts")),
)


def setting_sources(settings: Settings, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Where each setting of `settings` came from: "environment (JOBCTL_…)", "config file" or
    "default" (`jobctl doctor`). Mirrors load_settings' precedence; reads the file again."""
    env = os.environ if env is None else env
    data = _read_toml(settings.config_path) if settings.config_path is not None else {}
    out: dict[str, str] = {}
    for name, variable, path in _SOURCES:
        node: object = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if variable is not None and _get(env, variable) is not None:
            out[name] = f"environment ({variable})"
        elif node is not None:
            out[name] = "config file"
        else:
            out[name] = "default"
    return out
