"""The job the raw-RQ baselines run: nothing at all, so only the queue's own costs are measured."""

from __future__ import annotations


def noop() -> None:
    """Do nothing (the raw-RQ counterpart of jobctl's `ping` with no sleep)."""
    return None
