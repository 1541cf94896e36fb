"""`jobctl content list | show` and `jobctl images list | show`: generated content items, each
with its length as its platform counts it (X: twitter-text's weighted length, URLs 23), and the
images drawn for them."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from jobctl.cli.context import STATE
from jobctl.cli.output import age, info, print_json, table

if TYPE_CHECKING:
    from jobctl.api.content import ContentAPI

app = typer.Typer(
    help="Generated content: list and show the posts of generate-content jobs.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _api() -> ContentAPI:
    from jobctl.api.content import ContentAPI

    return ContentAPI(STATE.api)


@app.command("list")
def list_content(
    org: Annotated[str | None, typer.Option("--org", help="Organisation.")] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="twitter, threads, linkedin, instagram or facebook.")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="draft, scheduled, published or failed.")
    ] = None,
    job: Annotated[str | None, typer.Option("--job", help="Only the items of this job.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Content items, newest first."""
    from jobctl.api.content import counted

    items = _api().list_content(org, platform and platform.strip().lower(), status, job, limit)
    if as_json:
        print_json([counted(i) for i in items])
        return
    if not items:
        info("no content items (enqueue generate-content to make some)")
        return
    rows = []
    for item in items:
        c = counted(item)
        first = " ".join(item.body.split())
        preview = first if len(first) <= 60 else first[:59] + "…"
        chars = f"{c['characters']}/{c['limit']}"
        rows.append(
            (item.id, item.organization_id, item.platform, item.variation + 1, chars,
             item.status.value, age(item.created_at), preview)
        )  # fmt: skip
    table(None, ["ID", "ORG", "PLATFORM", "VAR", "CHARS", "STATUS", "AGE", "BODY"], rows)


@app.command("show", no_args_is_help=True)
def show(
    item_id: Annotated[str, typer.Argument(metavar="ID", help="A content item id (cnt_…).")],
    as_json: JsonOption = False,
) -> None:
    """One content item: its body, and its length as its platform counts it."""
    from jobctl.api.accounts import AccountsAPI
    from jobctl.api.content import counted

    item = _api().get_content(item_id)
    c = counted(item)
    attempt = AccountsAPI(STATE.api).publish_attempt(item.id)  # publish-content's, if any
    c["publish"] = attempt.to_json() if attempt is not None else None
    if as_json:
        print_json(c)
        return
    out = sys.stdout
    pairs = [
        ("id", item.id), ("organization", item.organization_id), ("platform", item.platform),
        ("variation", item.variation + 1), ("status", item.status.value), ("topic", item.topic),
        ("characters", f"{c['characters']} of {c['limit']} (as {item.platform} counts them)"),
        ("hashtags", " ".join(item.hashtags) or "-"), ("context", ", ".join(item.context_item_ids) or "-"),
        ("provider", f"{item.provider} ({item.model})"), ("job", item.job_id or "-"),
        ("post id", item.external_post_id or "-"), ("created", item.created_at.isoformat()),
    ]  # fmt: skip
    if attempt is not None:
        pairs.append(("published by", f"{attempt.social_account_id} (job {attempt.job_id or '-'})"))
        if attempt.error:
            pairs.append(("rejected", attempt.error))
    for key, value in pairs:
        out.write(f"{key:>12}: {value}\n")
    out.write("\n" + item.body + "\n")


images_app = typer.Typer(help="Generated images: the cards of generate-image jobs.", no_args_is_help=True)


@images_app.command("list")
def list_images(
    org: Annotated[str | None, typer.Option("--org", help="Organisation.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10000, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Images, newest first."""
    images = _api().list_images(org, limit)
    if as_json:
        print_json([i.to_json() for i in images])
        return
    if not images:
        info("no images (enqueue generate-image to draw one)")
        return
    rows = [
        (i.id, i.organization_id, f"{i.width}x{i.height}", i.content_item_id or "-", age(i.created_at),
         i.path)
        for i in images
    ]  # fmt: skip
    table(None, ["ID", "ORG", "SIZE", "CONTENT", "AGE", "PATH"], rows)


@images_app.command("show", no_args_is_help=True)
def show_image(
    image_id: Annotated[str, typer.Argument(metavar="ID", help="An image id (img_…).")],
    as_json: JsonOption = False,
) -> None:
    """One image: its file, size, prompt and content item."""
    image = _api().get_image(image_id)
    if as_json:
        print_json(image.to_json())
        return
    for key, value in (
        ("id", image.id), ("organization", image.organization_id), ("size", f"{image.width}x{image.height}"),
        ("path", image.path), ("content", image.content_item_id or "-"), ("provider", image.provider),
        ("created", image.created_at.isoformat()), ("prompt", image.prompt),
    ):  # fmt: skip
        sys.stdout.write(f"{key:>12}: {value}\n")
