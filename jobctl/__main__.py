"""`python -m jobctl` runs the CLI."""

from __future__ import annotations

from jobctl.cli.app import main

if __name__ == "__main__":
    main()
