"""Pure domain: job types, statuses, payload contracts, queue specs, retry policy, errors."""
