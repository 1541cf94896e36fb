"""The `[oauth]` settings of refresh-token: each platform's token endpoint and app credentials.

Kept out of jobctl.settings (which only calls `oauth_from_table` / `oauth_from_env`) so that file
stays readable; like it, this module is stdlib + jobctl.domain only.

    [oauth]
    twitter_client_id = "..."        # JOBCTL_X_CLIENT_ID       (X: public clients need only this)
    twitter_client_secret = "..."    # JOBCTL_X_CLIENT_SECRET   (confidential clients: Basic auth)
    linkedin_client_id = "..."       # JOBCTL_LINKEDIN_CLIENT_ID
    linkedin_client_secret = "..."   # JOBCTL_LINKEDIN_CLIENT_SECRET
    meta_app_id = "..."              # JOBCTL_META_APP_ID       (Facebook; Instagram via Facebook Login)
    meta_app_secret = "..."          # JOBCTL_META_APP_SECRET
    instagram_grant = "fb_exchange_token"  # or "ig_refresh_token" (Instagram API with Instagram Login)
    twitter_token_url = "https://api.x.com/2/oauth2/token"   # JOBCTL_X_TOKEN_URL, and one per platform
    refresh_window_s = 86400         # JOBCTL_TOKEN_REFRESH_WINDOW_SECONDS: refresh tokens expiring within

Secrets are `repr=False` and shown by `describe()` only as "set".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from jobctl.domain.redaction import mask_url

# Production token endpoints (cited in jobctl.services.platforms.oauth).
DEFAULT_TOKEN_URLS: dict[str, str] = {
    "twitter": "https://api.x.com/2/oauth2/token",
    "linkedin": "https://www.linkedin.com/oauth/v2/accessToken",
    "facebook": "https://graph.facebook.com/v21.0/oauth/access_token",
    "instagram": "https://graph.facebook.com/v21.0/oauth/access_token",
    "threads": "https://graph.threads.net/refresh_access_token",
}
INSTAGRAM_LOGIN_TOKEN_URL = "https://graph.instagram.com/refresh_access_token"
INSTAGRAM_GRANTS = ("fb_exchange_token", "ig_refresh_token")
TOKEN_URL_ENV = {
    "twitter": "JOBCTL_X_TOKEN_URL", "linkedin": "JOBCTL_LINKEDIN_TOKEN_URL",
    "facebook": "JOBCTL_FACEBOOK_TOKEN_URL", "instagram": "JOBCTL_INSTAGRAM_TOKEN_URL",
    "threads": "JOBCTL_THREADS_TOKEN_URL",
}  # fmt: skip
# (config key, environment variable, secret?)
CREDENTIAL_KEYS = (
    ("twitter_client_id", "JOBCTL_X_CLIENT_ID", False),
    ("twitter_client_secret", "JOBCTL_X_CLIENT_SECRET", True),
    ("linkedin_client_id", "JOBCTL_LINKEDIN_CLIENT_ID", False),
    ("linkedin_client_secret", "JOBCTL_LINKEDIN_CLIENT_SECRET", True),
    ("meta_app_id", "JOBCTL_META_APP_ID", False),
    ("meta_app_secret", "JOBCTL_META_APP_SECRET", True),
)
WINDOW_ENV = "JOBCTL_TOKEN_REFRESH_WINDOW_SECONDS"
GRANT_ENV = "JOBCTL_INSTAGRAM_TOKEN_GRANT"
KEYS = frozenset(
    {*(k for k, _, _ in CREDENTIAL_KEYS), *(f"{p}_token_url" for p in DEFAULT_TOKEN_URLS),
     "instagram_grant", "refresh_window_s"}
)  # fmt: skip

Fail = Callable[[str, str], Exception]  # (key, problem) -> the ConfigError to raise


@dataclass(frozen=True)
class OAuthSettings:
    token_urls: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TOKEN_URLS))
    twitter_client_id: str | None = None
    twitter_client_secret: str | None = field(default=None, repr=False)
    linkedin_client_id: str | None = None
    linkedin_client_secret: str | None = field(default=None, repr=False)
    meta_app_id: str | None = None
    meta_app_secret: str | None = field(default=None, repr=False)
    instagram_grant: str = "fb_exchange_token"
    refresh_window_s: float = 86400.0  # refresh-token skips tokens that expire later than this

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {f"{p}_token_url": mask_url(u) for p, u in self.token_urls.items()}
        for key, _, secret in CREDENTIAL_KEYS:
            value = getattr(self, key)
            out[key] = ("set" if value else None) if secret else value
        return {**out, "instagram_grant": self.instagram_grant, "refresh_window_s": self.refresh_window_s}


def _url(fail: Fail, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise fail(key, f"expected an http:// or https:// URL, got {mask_url(str(value))!r}")
    return value.rstrip("/")


def _text(fail: Fail, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(key, "expected a non-empty string")
    return value.strip()


def _grant(fail: Fail, key: str, value: object) -> str:
    if value not in INSTAGRAM_GRANTS:
        raise fail(key, f"expected one of {', '.join(INSTAGRAM_GRANTS)}, got {value!r}")
    return str(value)


def _window(fail: Fail, key: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise fail(key, f"expected a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not 0 < number < float("inf"):
        raise fail(key, f"must be a positive number of seconds, got {value!r}")
    return number


def _with_grant(o: OAuthSettings, grant: str, url_given: bool) -> OAuthSettings:
    """Instagram Login tokens refresh at graph.instagram.com unless a URL was given."""
    o = replace(o, instagram_grant=grant)
    if grant == "ig_refresh_token" and not url_given:
        o = replace(o, token_urls={**o.token_urls, "instagram": INSTAGRAM_LOGIN_TOKEN_URL})
    return o


def oauth_from_table(o: OAuthSettings, table: Mapping[str, object], fail: Fail) -> OAuthSettings:
    """Overlay the config file's `[oauth]` table (keys already checked against KEYS)."""
    urls = dict(o.token_urls)
    for platform in DEFAULT_TOKEN_URLS:
        if (key := f"{platform}_token_url") in table:
            urls[platform] = _url(fail, f"oauth.{key}", table[key])
    o = replace(o, token_urls=urls)
    keys = [k for k, _, _ in CREDENTIAL_KEYS if k in table]
    creds: dict[str, Any] = {k: _text(fail, f"oauth.{k}", table[k]) for k in keys}
    o = replace(o, **creds)
    if "refresh_window_s" in table:
        o = replace(o, refresh_window_s=_window(fail, "oauth.refresh_window_s", table["refresh_window_s"]))
    if "instagram_grant" in table:
        grant = _grant(fail, "oauth.instagram_grant", table["instagram_grant"])
        o = _with_grant(o, grant, "instagram_token_url" in table)
    return o


def oauth_from_env(o: OAuthSettings, env: Mapping[str, str], fail: Fail) -> OAuthSettings:
    """Overlay the JOBCTL_* variables (empty values count as unset)."""

    def get(name: str) -> str | None:
        return env.get(name, "").strip() or None

    urls = dict(o.token_urls)
    for platform, name in TOKEN_URL_ENV.items():
        if (value := get(name)) is not None:
            urls[platform] = _url(fail, name, value)
    o = replace(o, token_urls=urls)
    creds: dict[str, Any] = {k: get(name) for k, name, _ in CREDENTIAL_KEYS if get(name) is not None}
    o = replace(o, **creds)
    if (value := get(WINDOW_ENV)) is not None:
        o = replace(o, refresh_window_s=_window(fail, WINDOW_ENV, value))
    if (value := get(GRANT_ENV)) is not None:
        o = _with_grant(o, _grant(fail, GRANT_ENV, value), get(TOKEN_URL_ENV["instagram"]) is not None)
    return o


def sources() -> tuple[tuple[str, str | None, tuple[str, ...]], ...]:
    """(setting name, environment variable, config path) rows for jobctl.settings._SOURCES."""
    rows = [(f"oauth.{k}", v, ("oauth", k)) for k, v, _ in CREDENTIAL_KEYS]
    rows += [(f"oauth.{p}_token_url", v, ("oauth", f"{p}_token_url")) for p, v in TOKEN_URL_ENV.items()]
    rows += [
        ("oauth.instagram_grant", GRANT_ENV, ("oauth", "instagram_grant")),
        ("oauth.refresh_window_s", WINDOW_ENV, ("oauth", "refresh_window_s")),
    ]
    return tuple(rows)
