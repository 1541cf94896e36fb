"""What the content processors share: the worker's settings, one content store per database
URL (thread-safe, shared by every slot of a thread-pool worker), and the provider the settings
choose (the chat-completions endpoint when configured, else the offline provider)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING

from jobctl.processors.base import JobContext
from jobctl.services.content.compose import Provider
from jobctl.settings import Settings, load_settings
from jobctl.store.content_repo import ContentRepository
from jobctl.store.learning_repo import LearningRepository

if TYPE_CHECKING:
    from jobctl.services.content.endpoint import Endpoint

_lock = threading.Lock()
_repos: dict[str, ContentRepository] = {}
_learning_repos: dict[str, LearningRepository] = {}


@cache
def settings() -> Settings:
    return load_settings()


def store() -> ContentRepository:
    from jobctl.store.engine import shared_engine

    url = settings().effective_database_url
    with _lock:
        if url not in _repos:
            _repos[url] = ContentRepository(shared_engine(url, pool_size=5))
        return _repos[url]


def learning_store() -> LearningRepository:
    """The brand-learning table over the content store's engine (one pool per database URL)."""
    url = settings().effective_database_url
    engine = store().engine
    with _lock:
        if url not in _learning_repos:
            _learning_repos[url] = LearningRepository(engine)
        return _learning_repos[url]


def provider_for(s: Settings, ctx: JobContext | None = None) -> Provider:
    """The chat-completions provider when an endpoint is configured, else the offline one."""
    if s.content_api_url:
        from jobctl.services.content.chat import ChatProvider, ChatSettings

        chat = ChatSettings(
            base_url=s.content_api_url, model=s.content_model, api_key=s.content_api_key,
            total_timeout_s=s.content_timeout_s,
        )  # fmt: skip
        return ChatProvider(chat, sleep=ctx.sleep if ctx is not None else None)
    from jobctl.services.content.offline import OfflineProvider

    return OfflineProvider()


def image_endpoint(s: Settings, ctx: JobContext | None = None) -> Endpoint | None:
    """The images endpoint when one is configured (None: the offline card renderer)."""
    if not s.image_api_url:
        return None
    from jobctl.services.content.endpoint import Endpoint, EndpointSettings

    settings = EndpointSettings(
        s.image_api_url, s.image_api_key, s.content_timeout_s, key_setting="JOBCTL_IMAGE_API_KEY"
    )
    return Endpoint(settings, "images", sleep=ctx.sleep if ctx is not None else None)


def now() -> datetime:
    return datetime.now(UTC)
