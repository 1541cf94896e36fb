"""Platform clients: one module per social platform, each speaking its documented HTTP API.

`client_for(platform, settings, account)` builds the client of an account. Every client
publishes (`publish`), looks its recent posts up (`find_post`, for idempotent retries), and
maps the platform's answers to the errors in `base` (rate limit, token refused, content
rejected, unavailable). Issue 13 adds metric fetches and token refresh to the same classes.
"""

from __future__ import annotations

from jobctl.services.platforms.base import ClientSettings, Credentials, PlatformClient

__all__ = ["ClientSettings", "Credentials", "PlatformClient", "client_class"]


def client_class(platform: str) -> type[PlatformClient]:
    """The client class of `platform` (imported on demand: each is small, but only one is used)."""
    if platform == "twitter":
        from jobctl.services.platforms.x import XClient

        return XClient
    if platform == "linkedin":
        from jobctl.services.platforms.linkedin import LinkedInClient

        return LinkedInClient
    if platform == "facebook":
        from jobctl.services.platforms.facebook import FacebookClient

        return FacebookClient
    if platform == "instagram":
        from jobctl.services.platforms.instagram import InstagramClient

        return InstagramClient
    if platform == "threads":
        from jobctl.services.platforms.threads import ThreadsClient

        return ThreadsClient
    raise ValueError(f"no platform client for {platform!r}")
