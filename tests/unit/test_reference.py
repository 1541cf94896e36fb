"""The shipped completions and man page are generated from the CLI and kept current."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobctl.cli import reference
from jobctl.domain.errors import ExitCode

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
    assert used <= set(reference.ENVIRONMENT), used - set(reference.ENVIRONMENT)
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
