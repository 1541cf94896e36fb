"""Wall time of whole commands: hyperfine when it is installed, else our own median of runs."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path


def command_medians_ms(
    commands: Sequence[Sequence[str]], environ: dict[str, str], runs: int, warmup: int = 3
) -> list[float]:
    """Median wall time (ms) of each command over `runs` runs (at least 10, except for the
    smoke tests' tiny size, which pass fewer); they must exit 0 (output is discarded)."""
    for command in commands:  # fail loudly, once, rather than time an error message
        out = subprocess.run(list(command), env=environ, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {out.returncode}: {out.stderr.strip()[-400:]}")
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        return _hyperfine(hyperfine, commands, environ, runs, warmup)
    return _by_hand(commands, environ, runs, warmup)


def _hyperfine(
    exe: str, commands: Sequence[Sequence[str]], environ: dict[str, str], runs: int, warmup: int
) -> list[float]:
    import shlex

    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "hyperfine.json"
        args = [exe, "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(max(runs, 2))]
        args += ["--export-json", str(export)]
        args += [shlex.join(c) for c in commands]
        subprocess.run(args, env=environ, check=True, capture_output=True)
        data = json.loads(export.read_text())
    return [float(r["median"]) * 1000 for r in data["results"]]


def _by_hand(
    commands: Sequence[Sequence[str]], environ: dict[str, str], runs: int, warmup: int
) -> list[float]:
    samples: list[list[float]] = [[] for _ in commands]
    for i in range(warmup + runs):
        for k, command in enumerate(commands):  # alternate, so drift hits every command alike
            start = time.perf_counter()
            subprocess.run(list(command), env=environ, capture_output=True, check=False)
            if i >= warmup:
                samples[k].append((time.perf_counter() - start) * 1000)
    return [statistics.median(s) for s in samples]
