"""The shipped completions and man page are generated from the CLI and kept current."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobctl import settings_catalog
from jobctl.cli import reference
from jobctl.domain.errors import ConfigError, ExitCode
from jobctl.domain.queues import DEFAULT_QUEUES
from jobctl.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_files_match_the_cli() -> None:
    assert reference.main(["--check", "--root", str(ROOT)]) == 0, (
        "completions/ or man/ are out of date: python -m jobctl.cli.reference --write"
    )


def test_check_notices_a_stale_file(tmp_path: Path) -> None:
    assert reference.main(["--write", "--root", str(tmp_path)]) == 0
    assert reference.main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / reference.MAN_PAGE).write_text(".TH OLD 1\n")
    assert reference.main(["--check", "--root", str(tmp_path)]) == 1


def test_man_page_documents_every_command_exit_code_and_variable() -> None:
    page = reference.man_page()
    for command in ("jobctl jobs list", "jobctl enqueue", "jobctl worker", "jobctl schedules add"):
        assert f".SS {command}" in page
    assert "\\-\\-status" in page and "\\-\\-concurrency" in page
    assert set(reference.EXIT_STATUS) == {int(code) for code in ExitCode}
    used = set()
    for path in (ROOT / "jobctl").rglob("*.py"):
        used |= set(re.findall(r"(?<![A-Z_])JOBCTL_[A-Z][A-Z_]*[A-Z]", path.read_text()))
    undocumented = sorted(used - set(reference.ENVIRONMENT))
    assert not undocumented, (
        f"JOBCTL_* variables with no description: {', '.join(undocumented)} (a setting: a row in "
        "jobctl/settings_catalog.py and its _SOURCES entry; anything else: OTHER_ENVIRONMENT in "
        "jobctl/cli/reference.py)"
    )
    for name in reference.ENVIRONMENT:
        assert f".B {name}" in page


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_completion_completes_commands_and_options() -> None:
    bin_dir = Path(sys.executable).parent  # the virtualenv's, where `jobctl` is installed
    assert (bin_dir / "jobctl").exists(), "jobctl is not installed: pip install -e '.[dev]'"
    script = ROOT / reference.SHELLS["bash"]
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    for words, expected in (
        (["jobctl", "jobs", "li"], "list"),
        (["jobctl", "jobs", "list", "--st"], "--status"),
    ):
        probe = (
            f"source {script}; COMP_WORDS=({' '.join(words)}); COMP_CWORD={len(words) - 1}; "
            '_jobctl_completion jobctl; echo "${COMPREPLY[@]}"'
        )
        out = subprocess.run(["bash", "-c", probe], env=env, capture_output=True, text=True, timeout=60)
        assert out.stdout.split() == [expected], out.stdout + out.stderr


# --- the configuration reference (README "Configuration", from jobctl.settings_catalog) ---


def test_readme_configuration_reference_is_current() -> None:
    readme = (ROOT / reference.README).read_text()
    assert reference.with_config_reference(readme) == readme, (
        "README.md's configuration reference is out of date: python -m jobctl.cli.reference --write"
    )


def test_check_notices_a_stale_configuration_reference(tmp_path: Path) -> None:
    readme = tmp_path / reference.README
    readme.write_text(f"# x\n{reference.CONFIG_START}\nold\n{reference.CONFIG_END}\n")
    assert reference.main(["--check", "--root", str(tmp_path)]) == 1
    assert reference.main(["--write", "--root", str(tmp_path)]) == 0
    assert reference.main(["--check", "--root", str(tmp_path)]) == 0
    assert "`worker.stall_seconds`" in readme.read_text() and readme.read_text().startswith("# x\n")
    readme.write_text("# no markers\n")
    assert reference.main(["--check", "--root", str(tmp_path)]) == 1


def _known_keys(tmp_path: Path, toml: str) -> list[str] | None:
    """The keys the parser lists when it refuses an unknown one in `toml` (None: not a table)."""
    path = tmp_path / "probe.toml"
    path.write_text(toml)
    try:
        load_settings(path, env={"HOME": str(tmp_path)})
    except ConfigError as exc:
        found = re.search(r"unknown key \(known: ([^)]*)\)", str(exc))
        return found.group(1).split(", ") if found else None
    raise AssertionError(f"the parser accepted an unknown key: {toml!r}")


def accepted_config_keys(tmp_path: Path) -> set[str]:
    """Every key the config-file parser accepts, found by asking it (so new sections count)."""
    top = _known_keys(tmp_path, "zz_unknown = 1")
    assert top, "the parser no longer lists the known keys when it refuses an unknown one"
    keys: set[str] = set()
    for key in top:
        if key == "queues":  # a table per queue name, each with its own keys
            sub = _known_keys(tmp_path, f'[queues."{next(iter(DEFAULT_QUEUES))}"]\nzz_unknown = 1')
            keys |= {f'queues."NAME".{k}' for k in sub or []}
            continue
        sub = _known_keys(tmp_path, f"[{key}]\nzz_unknown = 1")
        keys |= {f"{key}.{k}" for k in sub} if sub is not None else {key}
    return keys


def _documented_key(key: str) -> str:
    # `limits.organizations."ORG"` documents the free-form table `limits.organizations`
    return re.sub(r'\."[A-Z]+"$', "", key)


def test_every_config_key_the_parser_accepts_is_documented(tmp_path: Path) -> None:
    accepted = accepted_config_keys(tmp_path)
    documented = {_documented_key(d.key) for d in settings_catalog.SETTINGS}
    missing, stale = sorted(accepted - documented), sorted(documented - accepted)
    assert not missing, (
        f"config keys with no row in jobctl/settings_catalog.py SETTINGS: {', '.join(missing)} (add "
        "one each: type, meaning, where its default is in Settings; then "
        "python -m jobctl.cli.reference --write)"
    )
    assert not stale, f"rows in SETTINGS for keys the parser refuses: {', '.join(stale)}"


def test_every_setting_source_has_a_row_and_every_row_a_source() -> None:
    names = set(settings_catalog.sources())
    rows = {d.source_name for d in settings_catalog.SETTINGS}
    missing, stale = sorted(names - rows), sorted(rows - names)
    assert not missing, f"jobctl.settings._SOURCES entries with no row in SETTINGS: {', '.join(missing)}"
    assert not stale, f"SETTINGS rows whose source is not in jobctl.settings._SOURCES: {', '.join(stale)}"


def test_every_variable_the_settings_read_is_a_documented_setting() -> None:
    code = "".join(
        (ROOT / "jobctl" / p).read_text() for p in ("settings.py", "oauth_config.py", "domain/token_keys.py")
    )
    read = set(re.findall(r"(?<![A-Z_])JOBCTL_[A-Z][A-Z_]*[A-Z]", code)) - {"JOBCTL_CONFIG"}
    mapped = {v for v in settings_catalog.sources().values() if v}
    unmapped = sorted(read - mapped)
    assert not unmapped, (
        f"variables jobctl.settings reads that are not in its _SOURCES: {', '.join(unmapped)}"
    )
    section = reference.config_reference()
    absent = [n for n in reference.ENVIRONMENT if f"`{n}`" not in section]
    assert not absent, f"variables missing from the README's configuration reference: {', '.join(absent)}"


def test_every_default_comes_from_the_settings_and_secrets_are_never_shown() -> None:
    import dataclasses

    defaults = settings_catalog.defaults()
    rows = {d.key: d for d in settings_catalog.SETTINGS}
    assert settings_catalog.default_text(rows["worker.stall_seconds"]) == f"{defaults.stall_seconds:g}"
    assert settings_catalog.default_text(rows["content.model"]) == defaults.content_model
    secret_attrs = {f.name for f in dataclasses.fields(defaults) if not f.repr}
    secret_attrs |= {f"oauth.{f.name}" for f in dataclasses.fields(defaults.oauth) if not f.repr}
    assert secret_attrs, "Settings marks its secrets repr=False"
    covered = {d.attr for d in settings_catalog.SETTINGS if d.attr in secret_attrs}
    uncovered = sorted(secret_attrs - covered)
    assert not uncovered, f"secret settings with no row pointing at them: {', '.join(uncovered)}"
    section = reference.config_reference()
    for doc in settings_catalog.SETTINGS:
        row = next(line for line in section.splitlines() if line.startswith(f"| `{doc.key}` |"))
        assert ("never shown" in row) == (doc.attr in secret_attrs), row
        assert len(row.split(" | ")) == 5, row  # key, environment, type, default, meaning
