"""The sentences of brand learning: each finding with its numbers, sample sizes and test, and
the summary of a recompute (including why nothing was claimed). Built only from the evidence."""

from __future__ import annotations

from typing import Any

from jobctl.domain.learning import LearningKind, NoInsightReason


def pct(value: float) -> str:
    """An engagement rate as a percentage: 0.0423 -> '4.23%'."""
    return f"{value * 100:.2f}%"


def _p(value: float) -> str:
    """'<0.0001', '=0.0021', '=0.031': the relation and the value, for 'p' or 'q' to precede."""
    return "<0.0001" if value < 0.0001 else f"={value:.4f}" if value < 0.01 else f"={value:.3f}"


def stats_clause(e: dict[str, Any]) -> str:
    """'n=34 vs 120; Mann-Whitney p=0.0021, BH q=0.013' (the numbers behind a finding)."""
    return f"n={e['n']} vs {e['n_rest']}; Mann-Whitney p{_p(e['p_value'])}, BH q{_p(e['q_value'])}"


def _how_much(e: dict[str, Any]) -> str:
    lift = e.get("lift")
    if lift is None:
        return "more" if e["direction"] == "better" else "less"
    return f"{abs(lift) * 100:.0f}% {'more' if lift > 0 else 'less'}"


def describe_finding(kind: LearningKind, e: dict[str, Any], *, best: bool = False) -> str:
    group, better = e["group"], e["direction"] == "better"
    rates = f"mean engagement rate {pct(e['mean_engagement_rate'])} vs {pct(e['mean_engagement_rate_rest'])}"
    numbers = f"({rates}; {stats_clause(e)})"
    how = _how_much(e)
    if kind is LearningKind.PLATFORM:
        if best:
            return f"{group} is your best platform: {how} engagement than your other platforms {numbers}"
        return f"{group} gets {how} engagement than your other platforms {numbers}"
    tz = e.get("timezone", "UTC")
    if kind is LearningKind.POSTING_HOUR:
        verb = "best" if better else "weak"
        when = f"posts published {group} ({tz})"
        return f"{verb} posting time: {when} get {how} engagement than at other times {numbers}"
    if kind is LearningKind.POSTING_WEEKDAY:
        verb = "best" if better else "weak"
        when = f"posts published on {group} ({tz})"
        return f"{verb} posting day: {when} get {how} engagement than on other days {numbers}"
    if kind is LearningKind.TOPIC:
        return f"posts on the topic {group!r} get {how} engagement than your other posts {numbers}"
    return f"posts with {group} get {how} engagement than posts without it {numbers}"


def describe_summary(s: dict[str, Any]) -> str:
    reason = s.get("reason")
    if reason == NoInsightReason.NO_METRICS.value:
        return (
            "no post metrics with an engagement rate yet: nothing to learn from "
            "(sync-analytics collects them)"
        )
    if reason == NoInsightReason.TOO_FEW_POSTS.value:
        return (
            f"too few posts to learn from: {s['posts']} with an engagement rate, at least {s['min_posts']} "
            f"are needed (and {s['min_posts_per_group']} in each group compared)"
        )
    fdr = f"{s['false_discovery_rate'] * 100:g}%"
    tested = (
        f"{s['comparisons']} comparison(s) over {s['posts']} posts "
        f"({s['test_short']}, {s['correction']} at a {fdr} false discovery rate)"
    )
    if reason == NoInsightReason.NO_SIGNIFICANT_DIFFERENCE.value:
        if not s["comparisons"]:
            return (
                f"no group has {s['min_posts_per_group']} posts on each side to compare yet "
                f"({s['posts']} posts): nothing claimed"
            )
        return f"no difference is significant: {tested}; nothing claimed"
    return f"{s['findings']} finding(s) from {tested}"
