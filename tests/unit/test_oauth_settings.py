"""The `[oauth]` settings of refresh-token: file and environment, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobctl.domain.errors import ConfigError
from jobctl.oauth_config import INSTAGRAM_LOGIN_TOKEN_URL
from jobctl.settings import load_settings, setting_sources


def test_file_then_environment_and_secrets_stay_hidden(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[oauth]\ntwitter_client_id = "x-app"\ntwitter_client_secret = "x-SECRET-1"\n'
        'linkedin_token_url = "https://gw.example/li/token/"\nrefresh_window_s = 3600\n'
    )
    env = {"JOBCTL_META_APP_SECRET": "meta-SECRET-2", "JOBCTL_INSTAGRAM_TOKEN_GRANT": "ig_refresh_token"}
    s = load_settings(config, env=env)
    o = s.oauth
    assert (o.twitter_client_id, o.twitter_client_secret) == ("x-app", "x-SECRET-1")
    assert o.meta_app_secret == "meta-SECRET-2"
    assert o.token_urls["linkedin"] == "https://gw.example/li/token" and o.refresh_window_s == 3600
    assert o.token_urls["instagram"] == INSTAGRAM_LOGIN_TOKEN_URL and o.instagram_grant == "ig_refresh_token"
    shown = str(s.describe()) + repr(s) + repr(o)
    assert "SECRET" not in shown and s.describe()["oauth"]["twitter_client_secret"] == "set"  # type: ignore[index]
    sources = setting_sources(s, env)
    assert sources["oauth.meta_app_secret"] == "environment (JOBCTL_META_APP_SECRET)"
    assert sources["oauth.twitter_client_id"] == "config file"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JOBCTL_INSTAGRAM_TOKEN_GRANT": "magic"}, "JOBCTL_INSTAGRAM_TOKEN_GRANT"),
        ({"JOBCTL_X_TOKEN_URL": "ftp://x"}, "JOBCTL_X_TOKEN_URL"),
        ({"JOBCTL_TOKEN_REFRESH_WINDOW_SECONDS": "-1"}, "positive"),
    ],
)
def test_bad_values_are_one_line_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)
