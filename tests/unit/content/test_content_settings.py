"""The content provider's settings: [content] in the config file, JOBCTL_CONTENT_* in the
environment (which wins), bad values as one-line errors, and the key never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobctl.domain.errors import ConfigError
from jobctl.processors.content_support import image_endpoint, provider_for
from jobctl.settings import load_settings, setting_sources


def test_config_then_environment_and_the_key_never_shown(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[content]\napi_url = "http://127.0.0.1:9/v1/"\nmodel = "m1"\napi_key = "sk-file"\n')
    env = {"HOME": str(tmp_path)}
    s = load_settings(cfg, env)
    assert (s.content_api_url, s.content_model, s.content_api_key) == (
        "http://127.0.0.1:9/v1",
        "m1",
        "sk-file",
    )
    described = s.describe()["content"]
    assert described == {
        "api_url": "http://127.0.0.1:9/v1", "model": "m1", "api_key": "set", "timeout_s": 120.0,
        "image_api_url": None, "image_model": "gpt-image-1", "image_api_key": None,
    }  # fmt: skip
    assert "sk-file" not in repr(s) and "sk-file" not in str(s.describe())
    env.update({"JOBCTL_CONTENT_API_KEY": "sk-env", "JOBCTL_CONTENT_TIMEOUT_SECONDS": "5"})
    s = load_settings(cfg, env)
    assert (s.content_api_key, s.content_timeout_s) == ("sk-env", 5.0)
    assert setting_sources(s, env)["content.api_key"] == "environment (JOBCTL_CONTENT_API_KEY)"
    assert setting_sources(s, env)["content.model"] == "config file"
    assert provider_for(s).name == "chat-completions" and provider_for(s).model == "m1"
    assert provider_for(load_settings(env={"HOME": str(tmp_path)})).name == "offline"
    images = load_settings(env={"HOME": str(tmp_path), "JOBCTL_IMAGE_API_URL": "https://i.example/v1",
                                "JOBCTL_IMAGE_API_KEY": "sk-img"})  # fmt: skip
    assert images.describe()["content"]["image_api_key"] == "set" and "sk-img" not in repr(images)
    endpoint = image_endpoint(images)
    assert endpoint is not None and endpoint.settings.base_url == "https://i.example/v1"
    assert "sk-img" not in repr(endpoint.settings) and image_endpoint(s) is None


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[content]\napi_url = "ftp://x"\n', {}, "content.api_url"),
        ("[content]\nmodel = 3\n", {}, "content.model"),
        ('[content]\nkey = "x"\n', {}, "unknown key"),
        ("", {"JOBCTL_CONTENT_API_URL": "localhost:8000"}, "JOBCTL_CONTENT_API_URL"),
        ("", {"JOBCTL_CONTENT_TIMEOUT_SECONDS": "soon"}, "JOBCTL_CONTENT_TIMEOUT_SECONDS"),
    ],
)
def test_bad_values_name_their_key(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(cfg, {"HOME": str(tmp_path), **env})
