"""`jobctl learnings --org ORG [--json]`: an organisation's brand-learning insights with their
sample sizes and confidence; with none, why (never recomputed, no metrics, too few posts,
nothing significant). Read-only: the analytics sync recomputes them."""

from __future__ import annotations

from typing import Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json, table


def register(app: typer.Typer) -> None:
    app.command("learnings")(learnings)


def learnings(
    org: Annotated[str, typer.Option("--org", help="The organisation.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Brand learning: what does better and worse for an organisation, from its post metrics.

    Each insight shows its posts (n in the group vs the rest) and confidence (1 - the
    Benjamini-Hochberg q of its Mann-Whitney U test)."""
    from jobctl.api.learnings import LearningAPI

    view = LearningAPI(STATE.api).latest(org)
    if as_json:
        print_json(view.to_json())
        return
    s = view.summary
    if s is not None:
        period = (
            f"posts published {s.period_start:%Y-%m-%d}..{s.period_end:%Y-%m-%d}, "
            if s.period_start and s.period_end
            else ""
        )
        info(f"{view.organization_id}: {period}recomputed {s.created_at:%Y-%m-%d %H:%M} UTC")
    if not view.insights:
        info(view.explanation)
        return
    table(
        None,
        ["KIND", "INSIGHT", "POSTS", "CONFIDENCE"],
        [
            (
                i.kind.value,
                i.insight,
                f"{i.evidence.get('n')} vs {i.evidence.get('n_rest')}",
                _confidence(i.confidence),
            )
            for i in view.insights
        ],
    )
    if s is not None:
        info(s.insight)


def _confidence(value: float | None) -> str:
    """1 - q as a percentage; never '100.0%' (q is small, not zero)."""
    if value is None:
        return "-"
    return ">99.9%" if value > 0.999 else f"{value * 100:.1f}%"
