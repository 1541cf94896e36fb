"""The schema revisions this jobctl knows (no imports: the driver-only reader needs them too)."""

from __future__ import annotations

KNOWN_REVISIONS: tuple[str, ...] = (
    "0001_jobs", "0002_schedules", "0003_jobs_finished_index", "0004_job_attempts",
    "0005_context", "0006_content", "0007_social_accounts", "0008_api_tokens",
    "0009_brand_learning", "0010_audit_log", "0011_token_encryption", "0012_post_analytics",
    "0013_retention_indexes",
)  # fmt: skip
"""Every migration id, oldest first (a test checks this against alembic's script history)."""

HEAD_REVISION: str = KNOWN_REVISIONS[-1]
"""The schema revision this jobctl needs."""
