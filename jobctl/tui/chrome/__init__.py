"""Around every view: the top bar (badge, refresh state), the outage banner, the prompt line."""
