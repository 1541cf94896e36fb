"""What every setting means: the configuration reference's one source of truth.

jobctl.settings owns the parsing and `_SOURCES` (each setting's config-file path and environment
variable); this module adds, per `_SOURCES` name, the value's type and its meaning, and where in
`Settings` its default lives. Defaults are read from the `Settings` dataclass itself, never
copied, and a field declared `repr=False` (a secret) is always rendered "never shown".

`python -m jobctl.cli.reference --write` renders it into the README's "Configuration" section and
the man page's ENVIRONMENT; tests/unit/test_reference.py checks that every key the parser accepts
and every variable it reads has a row here, and that the README is current.

Stdlib + jobctl.settings only, like jobctl.settings itself (cheap to import).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from jobctl.oauth_config import CREDENTIAL_KEYS, DEFAULT_TOKEN_URLS, INSTAGRAM_LOGIN_TOKEN_URL
from jobctl.settings import _SOURCES, Settings

_PLATFORM_NAMES = {
    "twitter": "X", "linkedin": "LinkedIn", "facebook": "Facebook", "instagram": "Instagram",
    "threads": "Threads",
}  # fmt: skip


@dataclass(frozen=True)
class SettingDoc:
    """One row of the reference.

    key: the config-file key, dotted (`worker.stall_seconds` is `stall_seconds` in `[worker]`);
    `NAME`/`ORG` stand for a queue or organisation name. source: the `_SOURCES` name it belongs to
    (default: key). attr: where its default is in `Settings` (attributes and dict keys, dotted);
    default: the default in words, when the attribute's value alone would mislead (None meaning
    "the embedded Redis", a per-queue table).
    """

    key: str
    type: str
    meaning: str
    attr: str | None = None
    default: str | None = None
    source: str | None = None

    @property
    def source_name(self) -> str:
        return self.source or self.key


# The Instagram endpoint depends on the grant (jobctl.oauth_config._with_grant).
_INSTAGRAM_URL_NOTE = f" (unset, with `ig_refresh_token`: {INSTAGRAM_LOGIN_TOKEN_URL})"


def _oauth_rows() -> list[SettingDoc]:
    rows = []
    for key, _env, _secret in CREDENTIAL_KEYS:
        platform, _, what = key.partition("_")
        who = (
            "Meta (Facebook, Instagram via Facebook Login)"
            if platform == "meta"
            else _PLATFORM_NAMES[platform]
        )
        label = what.replace("_", " ").removeprefix("app ")
        rows.append(
            SettingDoc(f"oauth.{key}", "string", f"refresh-token: the {who} app's {label}", f"oauth.{key}")
        )
    for platform in DEFAULT_TOKEN_URLS:
        rows.append(
            SettingDoc(
                f"oauth.{platform}_token_url",
                "URL",
                f"refresh-token: the {_PLATFORM_NAMES[platform]} token endpoint"
                + (_INSTAGRAM_URL_NOTE if platform == "instagram" else ""),
                f"oauth.token_urls.{platform}",
            )
        )
    return rows


SETTINGS: tuple[SettingDoc, ...] = (
    SettingDoc(
        "redis_url",
        "URL",
        "the Redis every worker, scheduler and CLI shares (redis://, rediss://, unix://)",
        "redis_url",
        "a private Redis started on demand from the bundled redis-server, in the data directory",
    ),
    SettingDoc(
        "database_url",
        "URL",
        "the system of record: `sqlite:///PATH` or `postgresql://…` (psycopg 3)",
        "database_url",
        "`sqlite:///$DATA_DIR/jobctl.db`",
    ),
    SettingDoc(
        "data_dir",
        "path",
        "where the embedded SQLite file, Redis and generated images live (relative in the file: to the file)",
        default="`$XDG_DATA_HOME/jobctl` (`~/.local/share/jobctl`)",
    ),
    SettingDoc(
        "retry_intervals",
        "array of seconds",
        "the waits before each retry; their count is the number of retries (env: comma-separated)",
        "retry_intervals",
    ),
    SettingDoc("log_level", "string", "DEBUG, INFO, WARNING, ERROR or CRITICAL", "log_level"),
    SettingDoc(
        'queues."NAME".concurrency',
        "integer ≥ 1",
        "a worker's job slots on that queue when `--concurrency` is not given",
        "queues.*.concurrency",
        source="queues",
    ),
    SettingDoc(
        'queues."NAME".lock_seconds',
        "integer ≥ 1",
        "the queue's lock: a running job silent this long is hung, and the worker's default `--grace`",
        "queues.*.lock_seconds",
        source="queues",
    ),
    SettingDoc(
        "limits.org_active_jobs",
        "integer ≥ 0",
        "active (PENDING or RUNNING) jobs one organisation may "
        "have; beyond it enqueue fails (exit 6, HTTP 429)",
        "org_active_limit",
        source="limits",
    ),
    SettingDoc(
        'limits.organizations."ORG"',
        "integer ≥ 0",
        "that organisation's own active-job limit",
        "org_limits",
        default="none (`org_active_jobs`)",
        source="limits",
    ),
    SettingDoc(
        "worker.heartbeat_seconds",
        "seconds",
        "how often each worker process renews its heartbeat",
        "heartbeat_seconds",
    ),
    SettingDoc(
        "worker.stall_seconds",
        "seconds",
        "a worker silent this long is dead and its jobs run again (must exceed `heartbeat_seconds`)",
        "stall_seconds",
    ),
    SettingDoc(
        "worker.reconcile_seconds",
        "seconds",
        "how often (one process fleet-wide) the SQL rows and RQ are compared and repaired",
        "reconcile_seconds",
    ),
    SettingDoc(
        "worker.stats_log_seconds",
        "seconds",
        "how often a worker logs its per-queue counts",
        "stats_log_seconds",
    ),
    SettingDoc(
        "documents.root",
        "path",
        "process-document reads local paths only under this directory",
        "documents_root",
        default="none: only URLs",
    ),
    SettingDoc(
        "fetch.allow_private_addresses",
        "boolean",
        "let context fetches reach loopback, private and "
        "link-local addresses (local use and tests only; env: 1/0, true/false, yes/no, on/off)",
        "fetch_allow_private_addresses",
    ),
    SettingDoc(
        "fetch.max_bytes", "integer ≥ 1", "a fetched body's cap, after decompression", "fetch_max_bytes"
    ),
    SettingDoc(
        "fetch.timeout_s", "seconds", "a whole fetch's deadline, redirects included", "fetch_timeout_s"
    ),
    SettingDoc(
        "jobs.log_max_lines", "integer ≥ 1", "newest `ctx.log` lines kept per job in Redis", "log_max_lines"
    ),
    SettingDoc(
        "jobs.log_max_bytes", "integer ≥ 256", "bytes of log lines kept per job, the newest", "log_max_bytes"
    ),
    SettingDoc(
        "jobs.log_ttl_seconds",
        "integer ≥ 1",
        "a job's progress and log lines expire this long after its last report",
        "log_ttl_seconds",
    ),
    SettingDoc(
        "jobs.max_deferrals",
        "integer ≥ 0",
        "times a job may wait for a rate limit without spending a retry",
        "max_deferrals",
    ),
    SettingDoc(
        "content.api_url",
        "URL",
        "OpenAI-compatible base URL (`…/v1`) generate-content asks",
        "content_api_url",
        default="none: the offline provider",
    ),
    SettingDoc(
        "content.model", "string", "the chat-completions model generate-content asks for", "content_model"
    ),
    SettingDoc("content.api_key", "string", "bearer key of that endpoint", "content_api_key"),
    SettingDoc(
        "content.timeout_s",
        "seconds",
        "one job's total deadline for the endpoint, retries included",
        "content_timeout_s",
    ),
    SettingDoc(
        "content.image_api_url",
        "URL",
        "OpenAI-compatible base URL (`…/v1`) generate-image asks",
        "image_api_url",
        default="none: offline branded cards",
    ),
    SettingDoc("content.image_model", "string", "the images model generate-image asks for", "image_model"),
    SettingDoc("content.image_api_key", "string", "bearer key of the images endpoint", "image_api_key"),
    *(
        SettingDoc(
            f"platforms.{p}_api_url",
            "URL",
            f"publish-content: the {_PLATFORM_NAMES[p]} API's base URL",
            f"platform_urls.{p}",
        )
        for p in ("twitter", "linkedin", "facebook", "instagram", "threads")
    ),
    SettingDoc(
        "platforms.timeout_s",
        "seconds",
        "publish-content: one platform operation's deadline",
        "publish_timeout_s",
    ),
    SettingDoc(
        "platforms.media_url",
        "URL",
        "the public URL serving the data directory's `images/` (Instagram and Threads fetch images from it)",
        "publish_media_url",
        default="none: those two cannot post images",
    ),
    SettingDoc(
        "accounts.token_keys",
        "array of Fernet keys",
        "encrypt the social accounts' tokens at rest, "
        "newest first (`jobctl accounts new-key`; env: comma-separated)",
        "token_keys",
        default="none: accounts cannot be added",
    ),
    *_oauth_rows(),
    SettingDoc(
        "oauth.instagram_grant",
        "string",
        "Instagram's refresh: `fb_exchange_token` (Facebook Login) or `ig_refresh_token` (Instagram Login)",
        "oauth.instagram_grant",
    ),
    SettingDoc(
        "oauth.refresh_window_s",
        "seconds",
        "refresh-token refreshes the tokens that expire within it",
        "oauth.refresh_window_s",
    ),
    SettingDoc(
        "analytics.lookback_days",
        "integer ≥ 1",
        "sync-analytics: collect the posts of the last N days when the payload names no `since`",
        "analytics_lookback_days",
    ),
    SettingDoc(
        "analytics.max_posts",
        "integer ≥ 1",
        "sync-analytics: most posts collected per account and sync",
        "analytics_max_posts",
    ),
    SettingDoc(
        "retention.jobs_days",
        "integer ≥ 0",
        "days finished jobs are kept, with their attempts, logs and RQ data (0: forever)",
        "retention.jobs_days",
    ),
    SettingDoc(
        "retention.schedule_firings_days",
        "integer ≥ 0",
        "days schedule firings are kept (0: forever)",
        "retention.schedule_firings_days",
    ),
    SettingDoc(
        "retention.analytics_days",
        "integer ≥ 0",
        "days post analytics are kept (0: forever)",
        "retention.analytics_days",
    ),
    SettingDoc(
        "retention.audit_days",
        "integer ≥ 0",
        "days audit log entries are kept (0: forever)",
        "retention.audit_days",
    ),
    SettingDoc(
        "retention.batch_size",
        "integer 1-100000",
        "rows per DELETE transaction of the retention sweep",
        "retention.batch_size",
    ),
)


def sources() -> dict[str, str | None]:
    """`_SOURCES` name -> its environment variable (the parser's own table)."""
    return {name: variable for name, variable, _path in _SOURCES}


def defaults() -> Settings:
    """The defaults, as `load_settings` starts from them (data_dir is rendered in words)."""
    return Settings(redis_url=None, database_url=None, data_dir=Path("DATA_DIR"))


def _resolve(obj: object, attr: str) -> tuple[object, bool]:
    """(value, secret?) of a dotted attribute path; `*` takes every dict value's attribute."""
    secret = False
    head, _, rest = attr.partition(".")
    if isinstance(obj, dict):
        if head == "*":
            values = [_resolve(v, rest) for v in obj.values()]
            return {k: v for k, (v, _s) in zip(obj, values, strict=True)}, any(s for _v, s in values)
        value = obj[head]
    else:
        fields = {f.name: f for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else {}
        secret = head in fields and not fields[head].repr
        value = getattr(obj, head)
    if not rest:
        return value, secret
    inner, inner_secret = _resolve(value, rest)
    return inner, secret or inner_secret


def is_secret(doc: SettingDoc) -> bool:
    """A setting whose `Settings` field is `repr=False` (tokens, keys, client secrets)."""
    return doc.attr is not None and _resolve(defaults(), doc.attr)[1]


def _render(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, tuple | list):
        return ", ".join(_render(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_render(v)}" for k, v in value.items())
    return str(value)


def default_text(doc: SettingDoc) -> str:
    """The default in words: the `Settings` value, or the row's words for an unset (None/empty)
    one or a setting `Settings` has no default for; secrets never shown."""
    value = _resolve(defaults(), doc.attr)[0] if doc.attr is not None else None
    unset = value in (None, (), {}, "")
    text = doc.default if unset and doc.default is not None else _render(value)
    return f"{text}; never shown" if is_secret(doc) else text
