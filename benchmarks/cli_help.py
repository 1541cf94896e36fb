"""`jobctl --help` wall time vs `rq --help`: what an operator waits for before anything happens.

Start-up is dominated by imports, so this guards `import jobctl.cli.app` staying cheap.
"""

from __future__ import annotations

from benchmarks.environment import Env
from benchmarks.harness import Benchmark, Result, at_most
from benchmarks.timing import command_medians_ms


def run(env: Env) -> Result:
    runs = env.pick(tiny=2, small=10, default=30)
    jobctl_ms, rq_ms = command_medians_ms(
        [[env.exe("jobctl"), "--help"], [env.exe("rq"), "--help"]],
        env.subprocess_environ(),
        runs,
        warmup=1 if env.size == "tiny" else 3,
    )
    return Result("cli-help", jobctl_ms, rq_ms, "ms", [at_most(0.75)])


BENCHMARKS = [Benchmark("cli-help", "jobctl --help vs rq --help, median wall time", run)]
