"""One token request to a platform's token endpoint: the new tokens, or an error to act on.

Two kinds of endpoint:
- **RFC 6749 §6 refresh-token grant** (X, LinkedIn), through Authlib's httpx client
  (`authlib.integrations.httpx_client.OAuth2Client.refresh_token`): it builds the form body and
  the client authentication (Basic for confidential X clients, `client_id` in the body for
  public ones, `client_secret_post` for LinkedIn) and parses the RFC 6749 §5.2 error body.
  - X: `POST https://api.x.com/2/oauth2/token`, `grant_type=refresh_token&refresh_token=…&client_id=…`;
    refresh tokens are single-use (rotated on every refresh), access tokens live 2 h.
    https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token
  - LinkedIn: `POST https://www.linkedin.com/oauth/v2/accessToken`, `grant_type=refresh_token`,
    `client_id`, `client_secret` in the body; 60-day access tokens, a 365-day refresh token;
    an expired or revoked refresh token is 400 `{"error": "invalid_grant"}`.
    https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
- **Meta's long-lived token refresh** (not an RFC 6749 grant: a GET with the current long-lived
  token in the query, answered with `{"access_token", "token_type", "expires_in"}`), plain httpx:
  - Facebook (and Instagram via Facebook Login): `GET /oauth/access_token?grant_type=fb_exchange_token
    &client_id={app id}&client_secret={app secret}&fb_exchange_token={token}`.
    https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived
  - Instagram API with Instagram Login: `GET https://graph.instagram.com/refresh_access_token
    ?grant_type=ig_refresh_token&access_token={token}` (tokens at least 24 h old, not expired).
    https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token
  - Threads: `GET https://graph.threads.net/refresh_access_token?grant_type=th_refresh_token
    &access_token={token}`; long-lived tokens last 60 days.
    https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/
  Meta errors are `{"error": {"code", "message"}}` (jobctl.services.platforms.meta): code 190
  (expired/revoked token) means re-auth.

Answers map to: 429 -> RateLimited (Retry-After or the default wait); 5xx, timeouts, no
connection -> PlatformUnavailable (retry); `invalid_grant` (or Meta 190) -> GrantRefused (the
account needs re-auth); `invalid_client` / `unauthorized_client` / a missing client id ->
ClientMisconfigured (fix the settings, not the account). Every message is redacted of the tokens
and the client secret. Meta's URLs carry the token in the query string, so the request is sent
with httpx's own request logging filtered (see `_quiet_httpx`).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from jobctl.domain.redaction import redact
from jobctl.services.platforms.base import PlatformError, PlatformUnavailable, RateLimited, retry_after_s
from jobctl.services.platforms.meta import RATE_CODES, TOKEN_CODES
from jobctl.services.tls import shared_ssl_context

OAUTH2 = "refresh_token"
META_GRANTS = ("fb_exchange_token", "ig_refresh_token", "th_refresh_token")
_NEEDS_REAUTH = frozenset({"invalid_grant"})
_CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type"})


class GrantRefused(PlatformError):
    """The refresh token (or long-lived token) is expired or revoked: only a re-auth helps."""


class ClientMisconfigured(PlatformError):
    """Our app's credentials are missing or refused: the operator must fix the settings."""


@dataclass(frozen=True)
class TokenEndpoint:
    platform: str
    url: str
    grant: str  # "refresh_token" (RFC 6749) or one of META_GRANTS
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    auth_method: str = "client_secret_basic"  # RFC 6749 grants: or client_secret_post / none
    timeout_s: float = 30.0
    default_rate_wait_s: float = 60.0
    settings_hint: str = ""  # which settings hold the client id/secret (for error messages)


@dataclass(frozen=True)
class NewTokens:
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None


class _QuietHttpx(logging.Filter):
    """Drops httpx's "HTTP Request: GET <url>" lines for token endpoints (their URLs carry
    tokens for Meta); every other httpx line passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage() if record.args else str(record.msg)
        return not any(marker in text for marker in ("access_token", "oauth2/token", "accessToken"))


_FILTER = _QuietHttpx()


def _quiet_httpx() -> None:
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def request_tokens(
    endpoint: TokenEndpoint,
    access_token: str,
    refresh_token: str | None,
    now: datetime,
    *,
    transport: httpx.BaseTransport | None = None,
) -> NewTokens:
    """Ask the endpoint for new tokens once (never retried here: the caller decides)."""
    _quiet_httpx()
    secrets = tuple(s for s in (access_token, refresh_token, endpoint.client_secret) if s)
    try:
        if endpoint.grant == OAUTH2:
            return _oauth2(endpoint, refresh_token, now, transport, secrets)
        return _meta(endpoint, access_token, now, transport, secrets)
    except httpx.HTTPError as exc:
        where = f"{endpoint.platform} token endpoint"
        raise PlatformUnavailable(redact(f"{where}: {type(exc).__name__} (no answer)", secrets)) from None


def _expires(now: datetime, body: Any) -> datetime | None:
    value = body.get("expires_in") if isinstance(body, dict) else None
    try:
        return now + timedelta(seconds=float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _status_error(endpoint: TokenEndpoint, response: httpx.Response, secrets: tuple[str, ...]) -> None:
    """Raise for a 429 or 5xx before anything tries to read the body as tokens."""
    where = f"{endpoint.platform} token endpoint"
    status = response.status_code
    if status == 429:
        wait = retry_after_s(response.headers)
        wait = endpoint.default_rate_wait_s if wait is None else wait
        raise RateLimited(f"{where}: rate limited (HTTP 429); retry after {wait:g}s", wait)
    if status >= 500:
        excerpt = redact(" ".join(response.text[:200].split()), secrets)
        raise PlatformUnavailable(f"{where}: HTTP {status}: {excerpt or 'no body'}")


def _oauth_error(endpoint: TokenEndpoint, status: int, error: str, description: str | None,
                 secrets: tuple[str, ...]) -> PlatformError:  # fmt: skip
    where = f"{endpoint.platform} token endpoint"
    said = redact(f"{error}" + (f": {description}" if description else ""), secrets)
    if error in _NEEDS_REAUTH:
        return GrantRefused(f"{where} refused the refresh token (HTTP {status} {said})")
    if error in _CLIENT_ERRORS or status == 401:
        return ClientMisconfigured(
            f"{where} refused our app's credentials (HTTP {status} {said}); check {endpoint.settings_hint}"
        )
    return PlatformError(f"{where} refused the request (HTTP {status} {said})")


def _oauth2(endpoint: TokenEndpoint, refresh_token: str | None, now: datetime,
            transport: httpx.BaseTransport | None, secrets: tuple[str, ...]) -> NewTokens:  # fmt: skip
    from authlib.integrations.base_client.errors import OAuthError

    with warnings.catch_warnings():
        # Authlib 1.9 warns that it fell back to httpx (it prefers the httpx2 fork); httpx is
        # what jobctl ships, and pyproject pins Authlib below the release that may drop it.
        warnings.simplefilter("ignore")
        from authlib.integrations.httpx_client import OAuth2Client

    if not refresh_token:
        raise GrantRefused(f"{endpoint.platform} account has no refresh token stored")
    if not endpoint.client_id:
        raise ClientMisconfigured(f"no {endpoint.platform} OAuth client id is set ({endpoint.settings_hint})")
    seen: dict[str, int] = {}

    def check(response: httpx.Response) -> httpx.Response:
        seen["status"] = response.status_code
        _status_error(endpoint, response, secrets)
        return response

    client = OAuth2Client(
        client_id=endpoint.client_id, client_secret=endpoint.client_secret,
        token_endpoint_auth_method=endpoint.auth_method, trust_env=False, transport=transport,
        verify=shared_ssl_context(),
    )  # fmt: skip
    client.register_compliance_hook("refresh_token_response", check)
    try:
        token = client.refresh_token(endpoint.url, refresh_token=refresh_token, timeout=endpoint.timeout_s)
    except OAuthError as exc:
        raise _oauth_error(
            endpoint, seen.get("status", 400), str(exc.error), exc.description, secrets
        ) from None
    except httpx.HTTPStatusError as exc:  # a 4xx whose body is not a JSON object
        status = exc.response.status_code
        raise _oauth_error(endpoint, status, f"HTTP {status}", None, secrets) from None
    finally:
        client.close()
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise PlatformUnavailable(f"{endpoint.platform} token endpoint answered without an access_token")
    new_refresh = token.get("refresh_token")
    return NewTokens(
        access, new_refresh if isinstance(new_refresh, str) else refresh_token, _expires(now, token)
    )


def _meta(endpoint: TokenEndpoint, access_token: str, now: datetime,
          transport: httpx.BaseTransport | None, secrets: tuple[str, ...]) -> NewTokens:  # fmt: skip
    if endpoint.grant == "fb_exchange_token":
        if not (endpoint.client_id and endpoint.client_secret):
            raise ClientMisconfigured(f"no Meta app id and secret are set ({endpoint.settings_hint})")
        params = {
            "grant_type": "fb_exchange_token", "client_id": endpoint.client_id,
            "client_secret": endpoint.client_secret, "fb_exchange_token": access_token,
        }  # fmt: skip
    else:
        params = {"grant_type": endpoint.grant, "access_token": access_token}
    with httpx.Client(trust_env=False, transport=transport, verify=shared_ssl_context()) as client:
        response = client.get(endpoint.url, params=params, timeout=endpoint.timeout_s)
    _status_error(endpoint, response, secrets)
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    where = f"{endpoint.platform} token endpoint"
    if response.status_code >= 400 or not isinstance(body, dict):
        raise _meta_error(endpoint, response.status_code, body, secrets)
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise PlatformUnavailable(f"{where} answered without an access_token")
    return NewTokens(access, None, _expires(now, body))


def _meta_error(endpoint: TokenEndpoint, status: int, body: Any, secrets: tuple[str, ...]) -> PlatformError:
    """Meta's `{"error": {"code", "message"}}`: 190/102 re-auth, rate-limit codes, 101 our app."""
    where = f"{endpoint.platform} token endpoint"
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    said = str(error.get("message")) if isinstance(error, dict) else f"HTTP {status}"
    message = redact(said, secrets)
    if code in TOKEN_CODES:
        return GrantRefused(f"{where} refused the long-lived token (code {code}: {message})")
    if code in RATE_CODES:
        wait = endpoint.default_rate_wait_s
        return RateLimited(f"{where}: rate limited (code {code}); retry after {wait:g}s", wait)
    if code == 101 or status == 401:
        return ClientMisconfigured(f"{where} refused our app ({message}); check {endpoint.settings_hint}")
    return PlatformError(f"{where} refused the request (HTTP {status}: {message})")
