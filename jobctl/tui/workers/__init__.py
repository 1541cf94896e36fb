"""The workers view (`:workers`): every registered worker, stale ones flagged."""
