"""`jobctl analytics show --org ORG [--since 7d] [--json]`: what sync-analytics collected.

Per platform and overall: the posts collected in the window (their newest metrics), impressions,
interactions and the weighted engagement rate; below, engagement over time as one unicode
sparkline per platform (a character an hour for a window shorter than 3 days, else a day). No
chart library: the line is built from eight block characters, so `import jobctl.cli` stays as
cheap as before.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json, table
from jobctl.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from datetime import datetime

    from jobctl.domain.analytics_summary import Summary

app = typer.Typer(help="Post metrics collected by sync-analytics.", no_args_is_help=True)


def _since(text: str) -> datetime:
    from jobctl.domain.timeparse import parse_duration, parse_when, utcnow

    try:
        return utcnow() - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_when(text)
    except ValueError:
        raise InvalidInputError(
            f"--since: {text!r} is neither a duration (7d, 24h) nor an ISO time"
        ) from None


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.2f}%"


def _render(summary: Summary) -> None:
    from jobctl.domain.analytics_summary import sparkline

    rows = [
        (t.platform, t.accounts, t.posts, _n(t.impressions), _n(t.reach), t.interactions,
         _pct(t.engagement_rate),
         t.last_collected_at.strftime("%Y-%m-%d %H:%M") if t.last_collected_at else "-")
        for t in [*summary.platforms, summary.overall]
    ]  # fmt: skip
    table(
        f"{summary.organization_id}: posts collected since {summary.since:%Y-%m-%d %H:%M} UTC",
        ["PLATFORM", "ACCOUNTS", "POSTS", "IMPRESSIONS", "REACH", "INTERACTIONS", "ENGAGEMENT", "COLLECTED"],
        rows,
    )
    sys.stdout.write(f"\nengagement rate over time (one character per {summary.bucket}):\n")
    width = max(len(name) for name in summary.series)
    for name, points in summary.series.items():
        rates = [p.engagement_rate for p in points]
        known = [r for r in rates if r is not None]
        scale = f"  {_pct(min(known))} .. {_pct(max(known))}" if known else "  no impressions reported"
        sys.stdout.write(f"  {name:<{width}}  {sparkline(rates)}{scale}\n")
    if summary.series["all"]:
        first, last = summary.series["all"][0].at, summary.series["all"][-1].at
        sys.stdout.write(f"  {'':<{width}}  {first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M} UTC\n")


@app.command("show")
def show(
    org: Annotated[str, typer.Option("--org", help="The organisation.")],
    since: Annotated[
        str, typer.Option("--since", help="Window: a duration back from now (7d, 24h) or an ISO time.")
    ] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Latest metrics per platform and overall, and engagement over time."""
    from jobctl.api.analytics import AnalyticsAPI

    summary = AnalyticsAPI(STATE.api).summary(org, _since(since))
    if as_json:
        print_json(summary.to_json())
        return
    if not summary.overall.posts:
        info(f"no post metrics for {summary.organization_id} since {summary.since:%Y-%m-%d %H:%M} UTC "
             "(enqueue sync-analytics, or widen --since)")  # fmt: skip
        return
    _render(summary)
