"""`jobctl orgs add | list | show | set`: organisations and their brand settings.

Jobs for an organisation that was never added still run, with default brand settings (name = id,
neutral tone, no hashtag rules, default limits); `orgs add` makes the settings apply.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import info, print_json, table
from jobctl.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from jobctl.api.content import ContentAPI, OrgChanges
    from jobctl.domain.content import Organization

app = typer.Typer(
    help="Organisations: brand voice, tone, colours, hashtag rules, limits.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OrgId = Annotated[str, typer.Argument(metavar="ORG", help="The organisation id jobs carry (--org).")]
Name = Annotated[str | None, typer.Option("--name", help="Display name (default: the id).")]
Voice = Annotated[str | None, typer.Option("--voice", help="Brand voice, in a sentence or two.")]
Tone = Annotated[str | None, typer.Option("--tone", help="Tone, e.g. friendly, formal (default: neutral).")]
Colors = Annotated[
    list[str] | None, typer.Option("--color", help="Brand colour #RRGGBB (repeat; replaces the list).")
]
Always = Annotated[
    list[str] | None, typer.Option("--hashtag", help="A hashtag every post carries (repeat; replaces).")
]
Never = Annotated[
    list[str] | None, typer.Option("--never", help="A hashtag never to use (repeat; replaces).")
]
Zone = Annotated[
    str | None,
    typer.Option("--timezone", help="IANA timezone for posting times, e.g. Europe/Paris ('' = UTC)."),
]
Limits = Annotated[
    list[str] | None,
    typer.Option(
        "--limit",
        help="KEY=N: max_hashtags, or a platform's maximum length (twitter=200); KEY= removes it.",
    ),
]


def _api() -> ContentAPI:
    from jobctl.api.content import ContentAPI

    return ContentAPI(STATE.api)


def _changes(
    name: str | None,
    voice: str | None,
    tone: str | None,
    colors: list[str] | None,
    always: list[str] | None,
    never: list[str] | None,
    limits: list[str] | None,
    timezone: str | None = None,
) -> OrgChanges:
    from jobctl.api.content import OrgChanges

    parsed: dict[str, int | None] | None = None
    if limits is not None:
        parsed = {}
        for item in limits:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise InvalidInputError(f"--limit {item!r}: expected KEY=N (or KEY= to remove it)")
            if value.strip() and not value.strip().isdigit():
                raise InvalidInputError(f"--limit {item!r}: N must be a whole number")
            parsed[key.strip()] = int(value) if value.strip() else None
    return OrgChanges(name, voice, tone, colors, always, never, parsed, timezone)


def _show(org: Organization) -> None:
    out = sys.stdout
    limits = ", ".join(f"{k}={v}" for k, v in sorted(org.limits.items())) or "(platform defaults)"
    pairs = [
        ("id", org.id), ("name", org.name), ("brand voice", org.brand_voice or "-"), ("tone", org.tone),
        ("colours", " ".join(org.brand_colors) or "-"),
        ("hashtags", " ".join(org.hashtags_always) or "-"), ("never", " ".join(org.hashtags_never) or "-"),
        ("limits", limits), ("timezone", org.timezone or "UTC (not set)"),
        ("updated", org.updated_at.isoformat() if org.updated_at else "-"),
    ]  # fmt: skip
    for key, value in pairs:
        out.write(f"{key:>11}: {value}\n")


@app.command("add", no_args_is_help=True)
def add(
    org_id: OrgId,
    name: Name = None,
    voice: Voice = None,
    tone: Tone = None,
    colors: Colors = None,
    always: Always = None,
    never: Never = None,
    limits: Limits = None,
    timezone: Zone = None,
    as_json: JsonOption = False,
) -> None:
    """Add an organisation (adding an existing id changes nothing: use `orgs set`)."""
    changes = _changes(name, voice, tone, colors, always, never, limits, timezone)
    org, created = _api().add_org(org_id, changes)
    if as_json:
        print_json({"organization": org.to_json(), "created": created})
        return
    info(f"added organization {org.id}" if created else f"organization {org.id} exists (unchanged)")
    _show(org)


@app.command("list")
def list_orgs(as_json: JsonOption = False) -> None:
    """Every organisation with brand settings."""
    orgs = _api().list_orgs()
    if as_json:
        print_json([o.to_json() for o in orgs])
        return
    if not orgs:
        info("no organizations (jobs still run with default brand settings; add one with `jobctl orgs add`)")
        return
    rows = [(o.id, o.name, o.tone, " ".join(o.hashtags_always) or "-", len(o.limits)) for o in orgs]
    table(None, ["ID", "NAME", "TONE", "HASHTAGS", "LIMITS"], rows)


@app.command("show", no_args_is_help=True)
def show(org_id: OrgId, as_json: JsonOption = False) -> None:
    """One organisation's brand settings."""
    org = _api().get_org(org_id)
    if as_json:
        print_json(org.to_json())
        return
    _show(org)


@app.command("set", no_args_is_help=True)
def set_org(
    org_id: OrgId,
    name: Name = None,
    voice: Voice = None,
    tone: Tone = None,
    colors: Colors = None,
    always: Always = None,
    never: Never = None,
    limits: Limits = None,
    timezone: Zone = None,
    as_json: JsonOption = False,
) -> None:
    """Change an organisation's brand settings (only the options given)."""
    org = _api().set_org(org_id, _changes(name, voice, tone, colors, always, never, limits, timezone))
    if as_json:
        print_json(org.to_json())
        return
    _show(org)
