"""`python -m benchmarks`: run the benchmarks, print the table, optionally write the JSON."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from benchmarks import all_benchmarks
from benchmarks.environment import SIZES, BenchmarkSetupError, Env
from benchmarks.harness import Benchmark, Result, print_table, select, write_json


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="jobctl against raw RQ and the raw database drivers, side by side in one run.",
    )
    p.add_argument("--only", nargs="+", metavar="NAME", default=[], help="names, name prefixes or globs")
    p.add_argument("--size", choices=SIZES, default="default", help="workload size (tiny: smoke tests)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as a JSON list")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--debug", action="store_true", help="print the traceback of a benchmark that errors")
    return p


def _run_one(bench: Benchmark, env: Env, debug: bool) -> Result:
    """Run one benchmark; an exception becomes a failed row (the others still run)."""
    try:
        return bench.run(env)
    except BenchmarkSetupError:
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        return Result(
            bench.name, None, None, "", [], note=f"error: {type(exc).__name__}: {exc}", errored=True
        )


def compile_checkout() -> str | None:
    """Byte-compile jobctl when it runs from a source checkout (an editable install); what was
    done, or None. `pip install .` compiles at install time, and so do the baselines' libraries
    in site-packages; a checkout compiles at each start unless Python may write its cache, which
    this machine forbids (PYTHONDONTWRITEBYTECODE=1): 50-60 ms of every `jobctl` command's wall
    time here, that no installed copy pays. Reading a compiled cache is allowed either way."""
    import compileall

    import jobctl

    root = Path(jobctl.__file__).resolve().parent
    if "site-packages" in root.parts:
        return None
    compileall.compile_dir(str(root), quiet=1)
    return f"compiled {root} to bytecode (as an install would)"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    benches = select(all_benchmarks(), args.only)
    if args.list:
        for b in benches:
            print(f"{b.name:28} {b.description}")
        return 0
    if not benches:
        print(f"no benchmark matches {' '.join(args.only)} (see --list)", file=sys.stderr)
        return 2
    compiled = compile_checkout()
    if compiled:
        print(compiled, file=sys.stderr)
    env = Env(args.size)
    results: list[Result] = []
    started = time.monotonic()
    try:
        env.claim_redis()
        for bench in benches:
            t0 = time.monotonic()
            print(f"running {bench.name} ({bench.description}) ...", file=sys.stderr, flush=True)
            result = _run_one(bench, env, args.debug)
            results.append(result)
            print(f"  done in {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    except BenchmarkSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        env.close()
    print_table(results)
    print(f"({len(results)} benchmarks, size {args.size}, {time.monotonic() - started:.0f} s)")
    if args.json:
        write_json(results, args.json)
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
