"""The context engine's pure services: SSRF-safe fetching and feed parsing (no RQ, no store)."""
