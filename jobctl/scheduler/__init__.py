"""Cron scheduling (issue: scheduler). Nothing here yet."""
