"""`refresh-token`: one account's OAuth tokens, or the hourly sweep of an organisation's accounts
that expire within the refresh window (see jobctl.services.platforms.refresh).

Endpoints, app credentials and the window come from the worker's settings (`[oauth]`,
JOBCTL_*_TOKEN_URL, JOBCTL_X_CLIENT_ID, ...: jobctl.oauth_config). The per-account lock lives in
the worker's Redis (ctx.redis).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from jobctl.domain.accounts import SocialAccount
from jobctl.domain.errors import JobProcessingError
from jobctl.domain.payloads import RefreshTokenPayload
from jobctl.processors import content_support as support
from jobctl.processors.base import JobContext
from jobctl.processors.publish_content import accounts_store
from jobctl.services.platforms.oauth import OAUTH2, NewTokens, TokenEndpoint, request_tokens
from jobctl.services.platforms.refresh import AccountLocks, Refresher, refresh_due
from jobctl.settings import Settings

_HINTS = {
    "twitter": "JOBCTL_X_CLIENT_ID / JOBCTL_X_CLIENT_SECRET ([oauth] twitter_client_id, _secret)",
    "linkedin": "JOBCTL_LINKEDIN_CLIENT_ID / JOBCTL_LINKEDIN_CLIENT_SECRET ([oauth] linkedin_client_*)",
    "meta": "JOBCTL_META_APP_ID / JOBCTL_META_APP_SECRET ([oauth] meta_app_id, meta_app_secret)",
}


def endpoint_for(settings: Settings, account: SocialAccount) -> TokenEndpoint:
    """The token endpoint of the account's platform, with our app's credentials for it."""
    o, platform = settings.oauth, account.platform
    common: dict[str, Any] = {
        "platform": platform, "url": o.token_urls[platform], "timeout_s": settings.publish_timeout_s
    }  # fmt: skip
    if platform == "twitter":
        method = "client_secret_basic" if o.twitter_client_secret else "none"  # public clients: id only
        return TokenEndpoint(**common, grant=OAUTH2, client_id=o.twitter_client_id,
                             client_secret=o.twitter_client_secret, auth_method=method,
                             settings_hint=_HINTS["twitter"])  # fmt: skip
    if platform == "linkedin":
        return TokenEndpoint(**common, grant=OAUTH2, client_id=o.linkedin_client_id,
                             client_secret=o.linkedin_client_secret, auth_method="client_secret_post",
                             settings_hint=_HINTS["linkedin"])  # fmt: skip
    grant = {"facebook": "fb_exchange_token", "threads": "th_refresh_token"}.get(platform, o.instagram_grant)
    return TokenEndpoint(**common, grant=grant, client_id=o.meta_app_id, client_secret=o.meta_app_secret,
                         settings_hint=_HINTS["meta"])  # fmt: skip


def _request(endpoint: TokenEndpoint, account: SocialAccount) -> NewTokens:
    return request_tokens(endpoint, account.access_token, account.refresh_token, support.now())


class RefreshTokenProcessor:
    job_type: ClassVar[str] = "refresh-token"

    def run(self, payload: BaseModel, ctx: JobContext) -> Any:
        assert isinstance(payload, RefreshTokenPayload)
        ctx.check_cancelled()
        settings = support.settings()
        redis = ctx.redis
        if redis is None:
            if settings.redis_url is None:
                raise JobProcessingError(
                    "refresh-token runs in a jobctl worker (it needs the worker's Redis)"
                )
            from redis import Redis

            redis = Redis.from_url(settings.redis_url)
        refresher = Refresher(
            accounts_store(), AccountLocks(redis), lambda a: endpoint_for(settings, a), _request,
            now=support.now, sleep=ctx.sleep, window_s=settings.oauth.refresh_window_s,
        )  # fmt: skip
        holder = f"{ctx.job_id}:{ctx.attempt}"
        if payload.social_account_id is None:
            assert payload.organization_id is not None
            return refresh_due(refresher, payload.organization_id, holder=holder)
        return refresher.refresh(
            payload.social_account_id,
            force=payload.force,
            holder=holder,
            organization_id=payload.organization_id,
        ).to_json()
