"""The platform server of the analytics benchmark, in its own process (run by path).

`python benchmarks/analytics_server.py PLATFORM ACCOUNTS POSTS TOKEN` starts tests/platform_fake.py
(the same fake the tests script: real HTTP on 127.0.0.1), seeds POSTS posts for each of ACCOUNTS
accounts (external ids `bench-0` ... on PLATFORM), prints its port, and serves until stdin
closes or it is terminated. Both sides of the benchmark share it, neither pays for it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from platform_fake import serve


def main(platform: str, accounts: int, posts: int, token: str) -> None:
    with serve({token}) as fake:
        for n in range(accounts):
            fake.seed(platform, f"bench-{n}", posts)
        fake.seen.clear()
        sys.stdout.write(f"{fake.url.rsplit(':', 1)[1]}\n")
        sys.stdout.flush()
        sys.stdin.read()  # until the benchmark closes our stdin (or terminates us)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
