"""jobctl: operator CLI and terminal dashboard for background jobs on RQ, Redis and SQL."""

from __future__ import annotations

__version__ = "0.1.0"
