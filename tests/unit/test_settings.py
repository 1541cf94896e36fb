"""Settings: precedence (env > file > defaults), XDG paths, one-line ConfigErrors without secrets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobctl.domain.errors import ConfigError
from jobctl.domain.queues import DEFAULT_QUEUES
from jobctl.domain.retry import DEFAULT_RETRY_INTERVALS
from jobctl.settings import default_config_path, default_data_dir, load_settings, setting_sources

SECRET = "s3cr3t-pw"


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment with only HOME set, pointing at an empty temporary home."""
    return {"HOME": str(tmp_path / "home")}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def config_error(path: Path | None, env: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, env)
    message = str(info.value)
    assert "\n" not in message
    assert SECRET not in message
    return message


def test_defaults_without_any_config(home: dict[str, str]) -> None:
    s = load_settings(env=home)
    assert s.redis_url is None and s.uses_embedded_redis
    assert s.database_url is None and s.uses_embedded_database
    assert s.data_dir == Path(home["HOME"]) / ".local/share/jobctl"
    assert s.effective_database_url == f"sqlite:///{s.data_dir}/jobctl.db"
    assert s.config_path is None
    assert s.retry_intervals == DEFAULT_RETRY_INTERVALS
    assert s.queues == DEFAULT_QUEUES
    assert s.org_limit("anyone") == 50
    assert (s.log_level, s.heartbeat_seconds, s.stall_seconds) == ("INFO", 5.0, 15.0)


def test_xdg_paths(tmp_path: Path) -> None:
    env = {"HOME": "/home/u", "XDG_DATA_HOME": str(tmp_path / "d"), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    assert default_data_dir(env) == tmp_path / "d" / "jobctl"
    assert default_config_path(env) == tmp_path / "c" / "jobctl" / "config.toml"
    # Relative XDG values are invalid per the spec; empty ones count as unset.
    env = {"HOME": "/home/u", "XDG_DATA_HOME": "relative", "XDG_CONFIG_HOME": ""}
    assert default_data_dir(env) == Path("/home/u/.local/share/jobctl")
    assert default_config_path(env) == Path("/home/u/.config/jobctl/config.toml")
    assert default_data_dir({**env, "JOBCTL_DATA_DIR": str(tmp_path / "x")}) == tmp_path / "x"


def test_default_config_file_is_read_from_xdg_config_home(tmp_path: Path, home: dict[str, str]) -> None:
    env = {**home, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    path = write(tmp_path / "cfg/jobctl/config.toml", 'log_level = "debug"\n')
    s = load_settings(env=env)
    assert s.config_path == path
    assert s.log_level == "DEBUG"


FULL_CONFIG = f"""
redis_url = "redis://:{SECRET}@redis.internal:6379/2"
database_url = "postgres://jobs:{SECRET}@db.internal/jobs"
data_dir = "state"
retry_intervals = [10, 20]
log_level = "warning"

[queues."content-generation"]
concurrency = 4
lock_seconds = 60

[limits]
org_active_jobs = 20

[limits.organizations]
acme = 100

[worker]
heartbeat_seconds = 0.5
stall_seconds = 3
"""


def test_config_file_values(tmp_path: Path, home: dict[str, str]) -> None:
    path = write(tmp_path / "conf/jobctl.toml", FULL_CONFIG)
    s = load_settings(path, home)
    assert s.config_path == path
    assert s.redis_url == f"redis://:{SECRET}@redis.internal:6379/2"
    # Bare PostgreSQL URLs go to psycopg 3.
    assert s.database_url == f"postgresql+psycopg://jobs:{SECRET}@db.internal/jobs"
    assert s.effective_database_url == s.database_url
    # A relative data_dir is relative to the config file, not to the working directory.
    assert s.data_dir == tmp_path / "conf" / "state"
    assert s.retry_intervals == (10, 20)
    assert s.log_level == "WARNING"
    cg = s.queues["content-generation"]
    assert (cg.concurrency, cg.lock_seconds) == (4, 60)
    assert s.queues["context-scraping"] == DEFAULT_QUEUES["context-scraping"]
    assert s.org_limit("acme") == 100 and s.org_limit("other") == 20
    assert (s.heartbeat_seconds, s.stall_seconds) == (0.5, 3.0)


def test_environment_beats_file(tmp_path: Path, home: dict[str, str]) -> None:
    path = write(tmp_path / "c.toml", FULL_CONFIG)
    env = {
        **home,
        "JOBCTL_CONFIG": str(path),
        "JOBCTL_REDIS_URL": "unix:///run/redis.sock",
        "JOBCTL_DATABASE_URL": "postgresql://u@h/db",
        "JOBCTL_DATA_DIR": str(tmp_path / "envdata"),
        "JOBCTL_RETRY_INTERVALS": "60, 300,900",
        "JOBCTL_LOG_LEVEL": "error",
        "JOBCTL_HEARTBEAT_SECONDS": "1",
        "JOBCTL_STALL_SECONDS": "2.5",
    }
    s = load_settings(env=env)
    assert s.config_path == path
    assert s.redis_url == "unix:///run/redis.sock"
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.data_dir == tmp_path / "envdata"
    assert s.retry_intervals == (60, 300, 900)
    assert s.log_level == "ERROR"
    assert (s.heartbeat_seconds, s.stall_seconds) == (1.0, 2.5)
    # What only the file sets still comes from the file.
    assert s.queues["content-generation"].concurrency == 4


def test_empty_environment_values_count_as_unset(tmp_path: Path, home: dict[str, str]) -> None:
    path = write(tmp_path / "c.toml", 'redis_url = "redis://r:6379/0"\n')
    blank = {
        name: ""
        for name in ("JOBCTL_REDIS_URL", "JOBCTL_DATABASE_URL", "JOBCTL_DATA_DIR", "JOBCTL_LOG_LEVEL")
    }
    s = load_settings(path, {**home, **blank, "JOBCTL_RETRY_INTERVALS": " ", "JOBCTL_CONFIG": ""})
    assert s.redis_url == "redis://r:6379/0"
    assert s.database_url is None and s.log_level == "INFO"
    assert s.retry_intervals == DEFAULT_RETRY_INTERVALS


def test_argument_beats_jobctl_config(tmp_path: Path, home: dict[str, str]) -> None:
    chosen = write(tmp_path / "a.toml", 'log_level = "DEBUG"\n')
    env = {**home, "JOBCTL_CONFIG": str(write(tmp_path / "b.toml", 'log_level = "ERROR"\n'))}
    assert load_settings(chosen, env).log_level == "DEBUG"


def test_sqlite_url_is_kept(tmp_path: Path, home: dict[str, str]) -> None:
    s = load_settings(env={**home, "JOBCTL_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert s.database_url == f"sqlite:///{tmp_path}/x.db"


def test_missing_explicit_config_is_an_error(tmp_path: Path, home: dict[str, str]) -> None:
    missing = tmp_path / "nope.toml"
    assert str(missing) in config_error(missing, home)
    message = config_error(None, {**home, "JOBCTL_CONFIG": str(missing)})
    assert str(missing) in message and "JOBCTL_CONFIG" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('redis_url = "redis://x\n', "syntax"),
        ('colour = "blue"\n', "colour: unknown key"),
        ('[queues."video"]\nconcurrency = 2\n', 'queues."video": unknown queue'),
        (
            '[queues."analytics-sync"]\nconcurrency = -1\n',
            'queues."analytics-sync".concurrency: must be at least 1',
        ),
        ('[queues."analytics-sync"]\nspeed = 1\n', 'queues."analytics-sync".speed: unknown key'),
        ('[queues."analytics-sync"]\nconcurrency = true\n', "expected a whole number, got boolean"),
        ('retry_intervals = "60,300"\n', "retry_intervals: expected an array"),
        ("retry_intervals = [60, -5]\n", "retry_intervals[1]: must be at least 0"),
        ("[limits]\norg_active_jobs = -3\n", "limits.org_active_jobs: must be at least 0"),
        ('[limits.organizations]\nacme = "many"\n', 'limits.organizations."acme": expected a whole number'),
        ("[worker]\nstall_seconds = 0\n", "worker.stall_seconds: must be a positive number"),
        ("[worker]\nheartbeat_seconds = 40\n", "stall_seconds (15) must be greater than"),
        ('log_level = "chatty"\n', "log_level: unknown log level 'chatty'"),
        ("data_dir = 5\n", "data_dir: expected a path string, got integer"),
        ('database_url = "mysql://u:pw@h/db"\n', "database_url: 'mysql://u:***@h/db' is not a SQLite"),
        ("[jobs]\nlog_max_lines = 0\n", "jobs.log_max_lines: must be at least 1"),
        ("[jobs]\nlog_max_bytes = 100\n", "jobs.log_max_bytes: must be at least 256"),
        ('[jobs]\nlog_ttl_seconds = "1w"\n', "jobs.log_ttl_seconds: expected a whole number, got string"),
        ("[jobs]\nlog_lines = 5\n", "jobs.log_lines: unknown key"),
    ],
)
def test_bad_file_values(tmp_path: Path, home: dict[str, str], text: str, expected: str) -> None:
    path = write(tmp_path / "bad.toml", text)
    message = config_error(path, home)
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_bad_redis_url_in_file_is_masked(tmp_path: Path, home: dict[str, str]) -> None:
    path = write(tmp_path / "c.toml", f'redis_url = "http://admin:{SECRET}@host:6379"\n')
    message = config_error(path, home)
    assert "redis_url" in message and "admin:***@host" in message


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("JOBCTL_RETRY_INTERVALS", "60,soon", "JOBCTL_RETRY_INTERVALS: retry interval 'soon'"),
        ("JOBCTL_HEARTBEAT_SECONDS", "-1", "JOBCTL_HEARTBEAT_SECONDS: must be a positive number"),
        ("JOBCTL_STALL_SECONDS", "fast", "JOBCTL_STALL_SECONDS: expected a number of seconds"),
        ("JOBCTL_LOG_LEVEL", "loud", "JOBCTL_LOG_LEVEL: unknown log level"),
        (
            "JOBCTL_REDIS_URL",
            f"tcp://u:{SECRET}@h:1",
            "JOBCTL_REDIS_URL: 'tcp://u:***@h:1' is not a Redis URL",
        ),
        ("JOBCTL_DATABASE_URL", f"oracle://u:{SECRET}@h/x", "JOBCTL_DATABASE_URL: 'oracle://u:***@h/x'"),
        ("JOBCTL_LOG_MAX_LINES", "many", "JOBCTL_LOG_MAX_LINES: expected a whole number, got 'many'"),
        ("JOBCTL_LOG_MAX_BYTES", "10", "JOBCTL_LOG_MAX_BYTES: must be at least 256"),
    ],
)
def test_bad_environment_values(home: dict[str, str], name: str, value: str, expected: str) -> None:
    message = config_error(None, {**home, name: value})
    assert message.startswith("environment: ")
    assert expected in message


def test_describe_is_json_ready_and_masks_secrets(tmp_path: Path, home: dict[str, str]) -> None:
    path = write(tmp_path / "c.toml", FULL_CONFIG)
    described = load_settings(path, home).describe()
    text = json.dumps(described)
    assert SECRET not in text
    assert described["redis_url"] == "redis://:***@redis.internal:6379/2"
    assert described["database_url"] == "postgresql+psycopg://jobs:***@db.internal/jobs"
    assert described["config_path"] == str(path)
    assert described["queues"]["content-generation"] == {"concurrency": 4, "lock_seconds": 60}  # type: ignore[index]
    embedded = load_settings(env=home).describe()
    assert embedded["redis_url"] is None and embedded["embedded_redis"] is True
    assert str(embedded["database_url"]).startswith("sqlite:///")


def test_settings_import_stays_light() -> None:
    # Every command loads settings; the heavy clients must not come with it.
    code = (
        "import sys, jobctl.settings; "
        "heavy = ('redis', 'rq', 'sqlalchemy', 'sqlmodel', 'typer', 'rich'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_setting_sources_name_where_each_value_came_from(home: dict[str, str], tmp_path: Path) -> None:
    from jobctl.settings import setting_sources

    cfg = write(tmp_path / "c.toml", 'redis_url = "redis://h:6379/1"\n[worker]\nstall_seconds = 20\n')
    env = {**home, "JOBCTL_REDIS_URL": "redis://other:6379/2", "JOBCTL_LOG_LEVEL": "DEBUG"}
    sources = setting_sources(load_settings(cfg, env), env)
    assert sources["redis_url"] == "environment (JOBCTL_REDIS_URL)"  # the environment wins
    assert sources["log_level"] == "environment (JOBCTL_LOG_LEVEL)"
    assert sources["worker.stall_seconds"] == "config file"
    assert sources["database_url"] == "default" and sources["queues"] == "default"


def test_job_log_caps_from_file_and_environment(tmp_path: Path, home: dict[str, str]) -> None:
    """[jobs] log_max_lines / log_max_bytes / log_ttl_seconds: defaults, file, then environment."""
    default = load_settings(env=home)
    assert (default.log_max_lines, default.log_max_bytes, default.log_ttl_seconds) == (200, 65536, 604800)
    text = "[jobs]\nlog_max_lines = 50\nlog_max_bytes = 4096\nlog_ttl_seconds = 60\n"
    path = write(tmp_path / "c.toml", text)
    from_file = load_settings(path, env=home)
    assert (from_file.log_max_lines, from_file.log_max_bytes, from_file.log_ttl_seconds) == (50, 4096, 60)
    env = {**home, "JOBCTL_LOG_MAX_LINES": "7", "JOBCTL_LOG_TTL_SECONDS": "3600"}
    both = load_settings(path, env=env)
    assert (both.log_max_lines, both.log_max_bytes, both.log_ttl_seconds) == (7, 4096, 3600)
    assert both.describe()["jobs"] == {
        "log_max_lines": 7, "log_max_bytes": 4096, "log_ttl_seconds": 3600, "max_deferrals": 50,
    }  # fmt: skip


def test_max_deferrals_from_file_and_environment(tmp_path: Path, home: dict[str, str]) -> None:
    """[jobs] max_deferrals / JOBCTL_MAX_DEFERRALS (default 50; 0: every deferral is a failure)."""
    assert load_settings(env=home).max_deferrals == 50
    path = write(tmp_path / "c.toml", "[jobs]\nmax_deferrals = 5\n")
    assert load_settings(path, env=home).max_deferrals == 5
    assert load_settings(path, env={**home, "JOBCTL_MAX_DEFERRALS": "0"}).max_deferrals == 0
    with pytest.raises(ConfigError, match="JOBCTL_MAX_DEFERRALS"):
        load_settings(env={**home, "JOBCTL_MAX_DEFERRALS": "-1"})
    with pytest.raises(ConfigError, match=r"jobs\.max_deferrals"):
        load_settings(write(tmp_path / "bad.toml", '[jobs]\nmax_deferrals = "many"\n'), env=home)
    sources = setting_sources(load_settings(path, env=home), home)
    assert sources["jobs.max_deferrals"] == "config file"
