"""The benchmark harness: what a result is, how targets are judged, the table and the JSON.

A benchmark is a name, a one-line description and a function of the run's `Env` returning a
`Result`. Each module under `benchmarks/` exposes `BENCHMARKS`; `ALL_MODULES` lists them in
the order they run. Every figure is compared with a baseline measured in the same run, on the
same machine and services, because absolute times on a shared machine are noise.
"""

from __future__ import annotations

import fnmatch
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.environment import Env


@dataclass(frozen=True)
class Target:
    """A pass condition on the ratio (jobctl / baseline), on the jobctl figure itself, or on
    a side measurement of the row (`metric`, a key of Result.extra, e.g. the worker's RSS)."""

    kind: str  # "min_ratio" | "max_ratio" | "max_abs" | "min_abs"
    value: float
    unit: str = ""
    metric: str | None = None

    def holds(self, jobctl: float, ratio: float | None, extra: Mapping[str, float]) -> bool:
        if self.kind == "min_ratio":
            return ratio is not None and ratio >= self.value
        if self.kind == "max_ratio":
            return ratio is not None and ratio <= self.value
        figure = jobctl if self.metric is None else extra.get(self.metric)
        if figure is None:
            return False
        if self.kind == "max_abs":
            return figure <= self.value
        if self.kind == "min_abs":
            return figure >= self.value
        raise ValueError(self.kind)

    def __str__(self) -> str:
        sign = "≥" if self.kind.startswith("min") else "≤"
        if self.kind.endswith("ratio"):
            return f"{sign} {self.value:g}x"
        prefix = f"{self.metric} " if self.metric else ""
        return f"{prefix}{sign} {self.value:g} {self.unit}".rstrip()


def at_least(ratio: float) -> Target:
    return Target("min_ratio", ratio)


def at_most(ratio: float) -> Target:
    return Target("max_ratio", ratio)


def at_most_abs(value: float, unit: str, metric: str | None = None) -> Target:
    return Target("max_abs", value, unit, metric)


@dataclass
class Result:
    """One row of the table. `jobctl` None means not measured (the note says why)."""

    name: str
    jobctl: float | None
    baseline: float | None
    unit: str
    targets: Sequence[Target]
    note: str = ""
    errored: bool = False  # the benchmark itself failed to run (the note says how)
    extra: dict[str, float] = field(default_factory=dict)  # side measurements targets may name

    @property
    def ratio(self) -> float | None:
        if self.jobctl is None or not self.baseline:
            return None
        return self.jobctl / self.baseline

    @property
    def passed(self) -> bool | None:
        if self.errored:
            return False
        if self.jobctl is None:
            return None
        return all(t.holds(self.jobctl, self.ratio, self.extra) for t in self.targets)

    @property
    def target(self) -> str:
        return ", ".join(str(t) for t in self.targets)

    def to_json(self) -> dict[str, Any]:
        ratio = self.ratio
        return {
            "name": self.name,
            "jobctl": _round(self.jobctl),
            "baseline": _round(self.baseline),
            "unit": self.unit,
            "ratio": round(ratio, 3) if ratio is not None else None,
            "target": self.target,
            "passed": self.passed,
            "note": self.note,
            **({"extra": {k: _round(v) for k, v in self.extra.items()}} if self.extra else {}),
        }


def not_measured(name: str, unit: str, targets: Sequence[Target], why: str) -> Result:
    """A row for a benchmark whose capability is missing: said plainly, never a made-up figure."""
    return Result(name, None, None, unit, targets, note=f"not measured yet: {why}")


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    run: Callable[[Env], Result]
    tags: tuple[str, ...] = field(default=())


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    return round(value, 3) if abs(value) < 100 else round(value, 1)


# -- timing helpers ---------------------------------------------------------------------------


def interleaved(
    jobctl: Callable[[int], None], baseline: Callable[[int], None], total: int, rounds: int
) -> tuple[float, float]:
    """Run `total` operations of each side in `rounds` alternating chunks; the seconds of each.

    Alternating keeps a slow spell of the shared machine from landing on one side only.
    """
    chunk = max(1, total // rounds)
    t_jobctl = t_base = 0.0
    done = 0
    while done < total:
        n = min(chunk, total - done)
        start = time.perf_counter()
        jobctl(n)
        t_jobctl += time.perf_counter() - start
        start = time.perf_counter()
        baseline(n)
        t_base += time.perf_counter() - start
        done += n
    return t_jobctl, t_base


def paired_medians_ms(
    jobctl: Callable[[], object], baseline: Callable[[], object], repeat: int, warmup: int = 3
) -> tuple[float, float]:
    """Median wall time (ms) of each function over `repeat` calls, calls alternating."""
    for _ in range(warmup):
        jobctl()
        baseline()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        for fn, samples in ((jobctl, a), (baseline, b)):
            start = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(a), statistics.median(b)


# -- selection and output ---------------------------------------------------------------------


def select(benchmarks: Iterable[Benchmark], only: Sequence[str]) -> list[Benchmark]:
    """Benchmarks named by `only`: exact names, name prefixes up to a dash, or globs."""
    chosen = []
    for bench in benchmarks:
        if not only or any(
            bench.name == pat or bench.name.startswith(pat + "-") or fnmatch.fnmatch(bench.name, pat)
            for pat in only
        ):
            chosen.append(bench)
    return chosen


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def print_table(results: Sequence[Result], out: Any = None) -> None:
    out = out or sys.stdout
    header = ["benchmark", "jobctl", "baseline", "unit", "ratio", "target", "result"]
    rows = []
    for r in results:
        verdict = {True: "pass", False: "FAIL", None: "-"}[r.passed]
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else "-"
        rows.append([r.name, _fmt(r.jobctl), _fmt(r.baseline), r.unit, ratio, r.target, verdict])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    right = {1, 2, 4}
    for row in [header, *rows]:
        cells = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")
    for r in results:
        if r.note:
            out.write(f"  {r.name}: {r.note}\n")
    out.flush()


def write_json(results: Sequence[Result], path: Path) -> None:
    path.write_text(json.dumps([r.to_json() for r in results], indent=2) + "\n", encoding="utf-8")
