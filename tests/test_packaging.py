"""Cheap start-up and enforced layering: the CLI imports nothing heavy until a command needs it,
and the core never imports the UI toolkits."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("textual", "rq", "sqlmodel", "sqlalchemy", "httpx", "redis", "rich", "pydantic", "alembic")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys; {statement}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_importing_the_cli_loads_nothing_heavy() -> None:
    assert _loaded_after("import jobctl.cli.app") == []


def test_core_does_not_load_ui_toolkits() -> None:
    loaded = _loaded_after("import jobctl.api, jobctl.worker.slot, jobctl.store.jobs_repo")
    assert not {"textual", "rich"} & set(loaded)


def test_enqueueing_side_does_not_import_the_processors() -> None:
    """`jobctl enqueue` learns which types can run from entry-point names alone; the worker's
    registry loads them. (Importing every processor cost ~1.4 s of a 2.3 s enqueue.)"""
    code = (
        "import sys; from jobctl.processors.registry import producer_registry, default_registry; "
        "r = producer_registry(); r.runnable_spec('scrape-website'); r.runnable_spec('generate-content'); "
        "print(sorted(m for m in ('trafilatura', 'pypdf', 'bm25s', 'PIL') if m in sys.modules)); "
        "print(sorted(default_registry().processors) == sorted(r.installed | set(r.processors)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split("\n")[:2] == ["[]", "True"], out.stdout


def test_help_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "jobctl", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "enqueue" in out.stdout


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["mypy"],
        ["lint-imports"],
    ],
    ids=["ruff", "mypy", "import-linter"],
)
def test_quality_gate(command: list[str]) -> None:
    exe = shutil.which(command[0], path=str(Path(sys.executable).parent))
    assert exe, f"{command[0]} is not installed: pip install -e '.[dev]'"
    out = subprocess.run([exe, *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
