"""What `jobctl demo` shows: progress while the jobs run, then the summary and what to try next.

On a terminal (stderr), one rich progress bar per job type: its finished jobs out of those
enqueued so far, and the newest status. Without one (a pipe, CI, a log file), one plain line per
job as it is enqueued and as it ends, so a log of the run reads top to bottom. The summary and
the next steps go to stdout (or, with --json, one JSON document does).
"""

from __future__ import annotations

import sys
from typing import Any

from jobctl.cli.demo_scenario import TYPES, Scenario, Tracked
from jobctl.cli.output import table


class Display:
    """Progress for a Scenario: `enqueued` as jobs are added, `tick` after every poll."""

    def __init__(self, scenario: Scenario, *, tty: bool | None = None) -> None:
        self.scenario = scenario
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._said: dict[str, str] = {}
        self._bar: Any = None  # rich.progress.Progress on a terminal
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Display:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.fields[kind]:<17}"), BarColumn(bar_width=24), MofNCompleteColumn(),
                TextColumn("{task.description}"), TimeElapsedColumn(), console=Console(stderr=True),
            )  # fmt: skip
            for job_type in TYPES:
                self._tasks[job_type] = self._bar.add_task("waiting", total=None, kind=job_type, start=False)
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self.tick()
            self._bar.stop()

    def line(self, text: str) -> None:
        """A plain line on stderr (above the bars on a terminal)."""
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def enqueued(self, t: Tracked) -> None:
        if self._bar is None:
            self.line(
                f"demo: enqueued {t.type:<17} {t.job_id}"
                + (f" (expect {t.expect})" if t.expect != "COMPLETED" else "")
            )

    def tick(self) -> None:
        for t in self.scenario.jobs.values():
            if t.final and self._said.get(t.key) != t.status:
                self._said[t.key] = t.status
                if self._bar is None:
                    took, tries = t.seconds(), t.row.attempts
                    self.line(f"demo: {t.status.lower():<9} {t.type:<17} {t.job_id}"
                              + (f" in {took:.2f}s" if took is not None else "")
                              + (f" after {tries} attempts" if tries > 1 else ""))  # fmt: skip
        if self._bar is None:
            return
        for job_type, task in self._tasks.items():
            jobs = [t for t in self.scenario.jobs.values() if t.type == job_type]
            if job_type in self.scenario.unavailable:
                self._bar.update(task, description="not in this jobctl", total=0)
                continue
            if not jobs:
                continue
            self._bar.start_task(task)
            done = sum(t.final for t in jobs)
            statuses = sorted({t.label for t in jobs})
            self._bar.update(task, total=len(jobs), completed=done, description=", ".join(statuses))


def next_steps(data_dir: str, config: str, kept: bool) -> list[str]:
    """Commands to look at the demo's data: its config file names its data dir (and nothing else,
    so the user's own config file or services are not what they look at)."""
    if not kept:
        return []
    return [
        f"export JOBCTL_CONFIG={config}",
        "jobctl top                       # the dashboard over the demo's jobs",
        "jobctl jobs list                 # every job; `jobctl jobs show ID` for one",
        "jobctl content list              # the generated posts (one published)",
        "jobctl learnings --org demo-org  # what brand learning found in the analytics",
        "jobctl schedules list            # the demo's schedule and the defaults, paused",
        f"unset JOBCTL_CONFIG; rm -rf {data_dir}  # when done (`jobctl demo --clean`: gone after a pass)",
    ]


def print_report(report: dict[str, Any]) -> None:
    rows = []
    for r in report["types"]:
        median = f"{r['median_s']:.2f}s" if r["median_s"] is not None else "-"
        jobs = r["jobs"] if r["available"] else "-"
        rows.append((r["type"], jobs, r["completed"], r["failed"], r["cancelled"], median, r["made"]))
    table("demo: jobs by type", ["TYPE", "JOBS", "COMPLETED", "FAILED", "CANCELLED", "MEDIAN", "MADE"], rows)
    bad = [c for c in report["checks"] if not c["ok"]]
    if bad:
        table("checks that failed", ["CHECK", "DETAIL"], [(c["check"], c["detail"]) for c in bad])
    for job_type, why in report["unavailable"].items():
        print(f"demo: {job_type} left out: {why}")
    passed = len(report["checks"]) - len(bad)
    took = f"{report['elapsed_s']:.1f}s"
    if report["ok"]:
        print(f"demo: everything behaved as designed ({passed} checks, {took}); data in {report['data_dir']}")
    else:
        print(f"demo: SOMETHING DID NOT BEHAVE AS DESIGNED ({len(bad)} of {len(report['checks'])} checks "
              f"failed, {took}); worker and scheduler logs in {report['data_dir']}/logs")  # fmt: skip
    if report["next"]:
        print("\nTry next:")
        for command in report["next"]:
            print(f"  {command}")
