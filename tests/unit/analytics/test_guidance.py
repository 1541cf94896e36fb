"""Brand learning as generation guidance: which hashtags are preferred and avoided, and the
posting-time hint, from stored insights; choose_hashtags applies them."""

from __future__ import annotations

from datetime import UTC, datetime

from jobctl.domain.content import Organization
from jobctl.domain.learning import BrandLearning, LearningKind
from jobctl.services.content.compose import choose_hashtags
from jobctl.services.content.guidance import Guidance

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _b(kind: LearningKind, group: str, direction: str, confidence: float, **extra: str) -> BrandLearning:
    evidence = {"group": group, "direction": direction, **extra}
    return BrandLearning("acme", kind, f"{group} {direction}", evidence, confidence, None, None, NOW, "b")


def test_guidance_from_learnings() -> None:
    g = Guidance.from_learnings(
        [
            BrandLearning("acme", LearningKind.SUMMARY, "s", {}, None, None, None, NOW, "b"),
            _b(LearningKind.HASHTAG, "#Redis", "better", 0.96),
            _b(LearningKind.HASHTAG, "#Queues", "better", 0.99),
            _b(LearningKind.HASHTAG, "#Cloud", "worse", 0.97),
            _b(LearningKind.POSTING_HOUR, "09:00-12:00", "better", 0.98, timezone="Europe/Paris"),
            _b(LearningKind.POSTING_WEEKDAY, "Sunday", "worse", 0.98, timezone="UTC"),
            _b(LearningKind.PLATFORM, "linkedin", "better", 0.99),
        ]
    )
    assert g.preferred_hashtags == ("#Queues", "#Redis") and g.avoided_hashtags == ("#Cloud",)
    assert g.best_times == ("09:00-12:00 (Europe/Paris)",) and g.best_platforms == ("linkedin",)
    assert g.posting_time_hint == "best posting time from past posts: 09:00-12:00 (Europe/Paris)"
    assert len(g.notes) == 6 and g and g.avoids("#cloud")
    assert g.to_json(["#queues"])["preferred_hashtags_used"] == ["#Queues"]
    assert not Guidance.from_learnings([]) and Guidance().prompt_lines() == []


def test_choose_hashtags_prefers_and_avoids() -> None:
    org = Organization(id="acme", name="Acme", hashtags_always=("#Acme",), hashtags_never=("#Spam",))
    terms = ["queues", "workers", "cloud", "spam"]
    assert choose_hashtags(org, terms, 3) == ["#Acme", "#Queues", "#Workers"]
    assert choose_hashtags(org, terms, 3, prefer=["#Retries"], avoid=["#queues"]) == [
        "#Acme",
        "#Retries",
        "#Workers",
    ]
    assert choose_hashtags(org, terms, 2, prefer=["#Spam"], avoid=["#Acme"]) == ["#Acme", "#Queues"]
