"""`[retention]` settings: defaults, the file, JOBCTL_RETENTION_* over it, 0 = forever, one-line errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobctl.domain.errors import ConfigError
from jobctl.domain.retention import RULES
from jobctl.retention_config import FIELDS, RetentionSettings
from jobctl.settings import load_settings, setting_sources


def test_defaults_file_and_environment(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    assert load_settings(None, env).retention == RetentionSettings(30, 30, 400, 365, 5000)
    path = tmp_path / "jobctl.toml"
    path.write_text("[retention]\njobs_days = 7\naudit_days = 0\nbatch_size = 1000\n")
    over = {"JOBCTL_RETENTION_JOBS_DAYS": "14", "JOBCTL_RETENTION_ANALYTICS_DAYS": " "}
    s = load_settings(path, {**env, **over})
    assert s.retention == RetentionSettings(jobs_days=14, audit_days=0, batch_size=1000)
    assert s.describe()["retention"] == {"jobs_days": 14, "schedule_firings_days": 30, "analytics_days": 400,
                                         "audit_days": 0, "batch_size": 1000}  # fmt: skip
    sources = setting_sources(s, {"JOBCTL_RETENTION_JOBS_DAYS": "14"})
    assert sources["retention.jobs_days"] == "environment (JOBCTL_RETENTION_JOBS_DAYS)"
    assert sources["retention.batch_size"] == "config file"
    assert sources["retention.schedule_firings_days"] == "default"


@pytest.mark.parametrize(
    ("text", "env", "needle"),
    [
        ("[retention]\njobs_days = -1\n", {}, "retention.jobs_days: must be at least 0"),
        ("[retention]\nbatch_size = 0\n", {}, "retention.batch_size: must be at least 1"),
        ("[retention]\nbatch_size = 1000000\n", {}, "must be at most 100000"),
        ("[retention]\njobs_days = true\n", {}, "expected a whole number"),
        ("[retention]\nlogs_days = 3\n", {}, "logs_days"),
        ("", {"JOBCTL_RETENTION_AUDIT_DAYS": "a year"}, "RETENTION_AUDIT_DAYS: expected a whole number"),
    ],
)
def test_bad_values_are_one_line_errors(tmp_path: Path, text: str, env: dict[str, str], needle: str) -> None:
    path = tmp_path / "jobctl.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, {"HOME": str(tmp_path), **env})
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_every_rule_names_a_setting_and_zero_keeps_forever() -> None:
    settings = RetentionSettings(jobs_days=0)
    names = {key for key, _, _ in FIELDS}
    now = datetime(2026, 1, 31, tzinfo=UTC)
    for rule in RULES:
        assert rule.setting in names
    jobs = RULES[0]
    assert jobs.cutoff(now, settings.days(jobs.setting)) is None
    assert jobs.cutoff(now, 30) == now - timedelta(days=30)
