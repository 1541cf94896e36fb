"""The learning loop: an organisation's current brand-learning insights, turned into what
generate-content can use.

- Hashtags that did better are preferred and those that did worse avoided (the organisation's
  `hashtags_always` still win: an explicit rule beats a statistic). The offline provider prefers
  a better hashtag only when its word is in the topic or the context it writes from, so it
  never adds a subject the context does not mention; the chat provider is asked to prefer them
  where they fit.
- The best posting times (hour windows, weekdays) and platforms are not put in any post: they
  are reported in the job's result (`learnings.posting_time_hint`), for whoever schedules it.
- The chat provider's prompt also carries the insights' sentences, numbers included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobctl.domain.learning import BrandLearning, LearningKind

PROMPT_INSIGHTS = 8  # insight sentences in the chat prompt, most confident first


@dataclass(frozen=True)
class Guidance:
    preferred_hashtags: tuple[str, ...] = ()
    avoided_hashtags: tuple[str, ...] = ()
    best_times: tuple[str, ...] = ()  # "Tuesday (Europe/Paris)", "09:00-12:00 (UTC)"
    best_platforms: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # the insights' sentences
    computed_at: datetime | None = None

    @classmethod
    def from_learnings(cls, learnings: Sequence[BrandLearning]) -> Guidance:
        found = sorted(
            (b for b in learnings if b.is_insight and b.subject), key=lambda b: -(b.confidence or 0.0)
        )

        def subjects(kind: LearningKind, direction: str) -> tuple[str, ...]:
            return tuple(str(b.subject) for b in found if b.kind is kind and b.direction == direction)

        times = tuple(
            f"{b.subject} ({b.evidence.get('timezone', 'UTC')})"
            for b in found
            if b.kind in (LearningKind.POSTING_WEEKDAY, LearningKind.POSTING_HOUR) and b.direction == "better"
        )
        return cls(
            preferred_hashtags=subjects(LearningKind.HASHTAG, "better"),
            avoided_hashtags=subjects(LearningKind.HASHTAG, "worse"),
            best_times=times,
            best_platforms=subjects(LearningKind.PLATFORM, "better"),
            notes=tuple(b.insight for b in found),
            computed_at=max((b.created_at for b in learnings), default=None),
        )

    def __bool__(self) -> bool:
        return bool(self.notes)

    @property
    def posting_time_hint(self) -> str | None:
        if not self.best_times:
            return None
        return "best posting time from past posts: " + ", ".join(self.best_times)

    def avoids(self, tag: str) -> bool:
        return tag.lower() in {t.lower() for t in self.avoided_hashtags}

    def to_json(self, used_hashtags: Sequence[str] = ()) -> dict[str, Any]:
        used = {t.lower() for t in used_hashtags}
        return {
            "insights": len(self.notes),
            "computed_at": self.computed_at.isoformat() if self.computed_at else None,
            "preferred_hashtags": list(self.preferred_hashtags),
            "preferred_hashtags_used": [t for t in self.preferred_hashtags if t.lower() in used],
            "avoided_hashtags": list(self.avoided_hashtags),
            "best_posting_times": list(self.best_times),
            "best_platforms": list(self.best_platforms),
            "posting_time_hint": self.posting_time_hint,
        }

    def prompt_lines(self) -> list[str]:
        """What the chat provider is told (empty without insights)."""
        if not self:
            return []
        lines = ["What this brand's past post metrics show (tested; use as guidance, not as facts to state):"]
        lines += [f"- {n}" for n in self.notes[:PROMPT_INSIGHTS]]
        if self.preferred_hashtags:
            lines.append(
                f"Prefer these hashtags where they fit the post: {' '.join(self.preferred_hashtags)}."
            )
        if self.avoided_hashtags:
            lines.append(f"Avoid these hashtags (they did worse): {' '.join(self.avoided_hashtags)}.")
        return lines
