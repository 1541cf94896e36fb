"""The platform clients' configuration: base URLs from [platforms] and JOBCTL_*_API_URL, the
documented defaults, and the pure helpers the clients share (Retry-After / x-rate-limit-reset,
LinkedIn's little-text escaping, matching a listed post to ours)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobctl.domain.accounts import AccountInputError, AccountStatus, SocialAccount, check_platform
from jobctl.domain.errors import ConfigError
from jobctl.services.platforms import client_class
from jobctl.services.platforms.base import retry_after_s, same_text
from jobctl.services.platforms.linkedin import little_text, plain_text
from jobctl.settings import DEFAULT_PLATFORM_URLS, load_settings


def test_defaults_are_each_modules_documented_base_url() -> None:
    import importlib

    modules = {"twitter": "x", "linkedin": "linkedin", "facebook": "facebook", "instagram": "instagram",
               "threads": "threads"}  # fmt: skip
    for platform, module in modules.items():
        mod = importlib.import_module(f"jobctl.services.platforms.{module}")
        assert DEFAULT_PLATFORM_URLS[platform] == mod.DEFAULT_BASE_URL
        assert client_class(platform).platform == platform


def test_base_urls_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "jobctl.toml"
    config.write_text('[platforms]\nlinkedin_api_url = "http://127.0.0.1:9/li/"\ntimeout_s = 5\n')
    env = {
        "HOME": str(tmp_path),
        "JOBCTL_X_API_URL": "http://127.0.0.1:8",
        "JOBCTL_PUBLISH_MEDIA_URL": "https://cdn.test/i",
    }
    s = load_settings(config, env=env)
    assert s.platform_urls["twitter"] == "http://127.0.0.1:8"
    assert s.platform_urls["linkedin"] == "http://127.0.0.1:9/li"
    assert s.platform_urls["threads"] == DEFAULT_PLATFORM_URLS["threads"]
    assert s.publish_timeout_s == 5 and s.publish_media_url == "https://cdn.test/i"
    assert s.describe()["platforms"]["twitter_api_url"] == "http://127.0.0.1:8"
    with pytest.raises(ConfigError, match="JOBCTL_THREADS_API_URL"):
        load_settings(env={"HOME": str(tmp_path), "JOBCTL_THREADS_API_URL": "ftp://x"})
    config.write_text('[platforms]\nmastodon_api_url = "http://x"\n')
    with pytest.raises(ConfigError, match="mastodon_api_url"):
        load_settings(config, env={"HOME": str(tmp_path)})


def test_rate_limit_waits() -> None:
    assert retry_after_s({"retry-after": "120"}) == 120
    assert retry_after_s({"x-rate-limit-reset": "1300"}, now=1000.0) == 300
    assert retry_after_s({"x-rate-limit-reset": "900"}, now=1000.0) == 0
    assert retry_after_s({}) is None
    assert retry_after_s({"retry-after": "Thu, 01 Jan 1970 00:02:00 GMT"}, now=60.0) == 60
    assert retry_after_s({"retry-after": "soon"}) is None


def test_little_text_round_trip_and_post_matching() -> None:
    text = "Queues (durable) #Jobs @team_lead [1] *bold* ~x~ <tag> \\ |{}"
    assert plain_text(little_text(text)) == text and "\\#Jobs" in little_text(text)
    assert same_text("Read https://acme.test/a  now", "Read https://t.co/abc now")
    assert not same_text("Read this", "Read that") and not same_text("x", None)


def test_accounts_never_show_their_tokens() -> None:
    account = SocialAccount(
        "acc_1", "acme", "twitter", "@acme", "1", AccountStatus.CONNECTED, "tok-SECRET-1", "ref-SECRET-2"
    )
    assert "SECRET" not in repr(account) and "SECRET" not in str(account.to_json())
    assert account.to_json()["access_token"] == "set" and account.to_json()["refresh_token"] == "set"
    assert check_platform("X") == "twitter"
    with pytest.raises(AccountInputError, match="unknown platform"):
        check_platform("myspace")
