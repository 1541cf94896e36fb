"""generate-image, offline: a branded card drawn with Pillow at the requested size, saved as a PNG
under the data dir and recorded as an ImageAsset (linked to its content item when one is named).

The card: the organisation's first brand colour as the background (a dark slate by default),
its second as an accent bar, the headline (the prompt) in the colour that contrasts most, and
the organisation's name at the foot. The headline is wrapped, and the font shrinks until every
line fits inside the margins; a word too long for a line is broken across lines. Text is never
cut off: a headline that cannot fit even at the smallest legible size fails the job, naming the
size. The font is the one Pillow bundles (no system fonts needed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jobctl.domain.content import ImageRecord, Organization
from jobctl.domain.errors import PermanentJobError
from jobctl.store.content_repo import ContentRepository

PROVIDER = "offline-card"
DEFAULT_BACKGROUND = "#1f2937"
DEFAULT_ACCENT = "#f59e0b"
MIN_FONT = 12
_LINE_SPACING = 1.2


@dataclass(frozen=True)
class Layout:
    font_size: int
    lines: tuple[str, ...]
    box: tuple[int, int, int, int]  # left, top, right, bottom of the headline's text


def parse_size(size: str) -> tuple[int, int]:
    width, _, height = size.lower().partition("x")
    return int(width), int(height)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _contrast(background: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = (c / 255 for c in background)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b  # relative luminance (sRGB weights)
    return (17, 24, 39) if luminance > 0.5 else (255, 255, 255)


def _wrap(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy word wrap; a word wider than a line is split into pieces that fit."""
    lines: list[str] = []
    current = ""
    for whole in text.split():
        word = whole
        while not fits(word) and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and not fits(word[:cut]):
                cut -= 1
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def layout(headline: str, width: int, height: int) -> Layout:
    """The largest font size at which the wrapped headline fits its box, and the lines."""
    from PIL import ImageFont

    margin = max(8, width // 12)
    box_w, box_h = width - 2 * margin, int(height * 0.7) - margin
    size = max(MIN_FONT, min(height // 6, width // 6))
    while size >= MIN_FONT:
        font = ImageFont.load_default(size=size)
        lines = _wrap(headline, lambda t, f=font: f.getlength(t) <= box_w)  # type: ignore[misc]
        line_h = int(size * _LINE_SPACING)
        widest = max((font.getlength(line) for line in lines), default=0)
        if lines and len(lines) * line_h <= box_h and widest <= box_w:
            box = (margin, margin, margin + int(widest), margin + len(lines) * line_h)
            return Layout(size, tuple(lines), box)
        size = size - max(1, size // 10)
    raise PermanentJobError(
        f"the headline ({len(headline)} characters) does not fit on a {width}x{height} card even at "
        f"{MIN_FONT}px: ask for a larger size or a shorter prompt"
    )


def render_card(org: Organization, headline: str, width: int, height: int) -> tuple[Any, Layout]:
    """The card as a PIL image, and the layout its headline took."""
    from PIL import Image, ImageDraw, ImageFont

    background = _rgb(org.brand_colors[0] if org.brand_colors else DEFAULT_BACKGROUND)
    accent = _rgb(org.brand_colors[1] if len(org.brand_colors) > 1 else DEFAULT_ACCENT)
    ink = _contrast(background)
    plan = layout(headline, width, height)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=plan.font_size)
    left, top = plan.box[0], plan.box[1]
    for n, line in enumerate(plan.lines):
        draw.text((left, top + n * int(plan.font_size * _LINE_SPACING)), line, font=font, fill=ink)
    bar = max(2, height // 60)
    draw.rectangle((0, height - bar, width, height), fill=accent)
    foot_size = max(MIN_FONT - 2, min(height // 20, width // 16))
    foot = ImageFont.load_default(size=foot_size)
    name = org.name
    while name and foot.getlength(name) > width - 2 * left:
        name = name[:-1]  # the name is a label, not the headline: shortened rather than failing
    draw.text((left, height - bar - int(foot_size * 1.6)), name, font=foot, fill=ink)
    return image, plan


Draw = Callable[[Organization, str, int, int], Any]
"""(organisation, prompt, width, height) -> a PIL image of exactly that size."""


def offline_card(org: Organization, prompt: str, width: int, height: int) -> Any:
    return render_card(org, prompt, width, height)[0]


def generate_image(
    repo: ContentRepository,
    organization_id: str,
    prompt: str,
    size: str,
    content_item_id: str | None,
    *,
    images_dir: Path,
    now: Callable[[], datetime],
    draw: Draw = offline_card,
    provider: str = PROVIDER,
) -> ImageRecord:
    """Draw (the offline card unless `draw` says otherwise), save (atomically: a temporary file
    renamed) and record the image."""
    org = repo.get_org(organization_id) or Organization.defaults(organization_id)
    if content_item_id is not None:
        item = repo.get_content(content_item_id)
        if item is None or item.organization_id != organization_id:
            raise PermanentJobError(f"organization {organization_id!r} has no content item {content_item_id}")
    width, height = parse_size(size)
    image = draw(org, prompt, width, height)
    folder = images_dir / _safe(organization_id)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now()
    name = f"{stamp.strftime('%Y%m%dT%H%M%S')}-{abs(hash((prompt, size, stamp))) % 10**8:08d}.png"
    tmp = folder / f".{name}.tmp"
    image.save(tmp, format="PNG")
    tmp.replace(folder / name)
    return repo.add_image(
        organization_id, content_item_id=content_item_id, prompt=prompt, path=str(folder / name),
        size=(width, height), provider=provider, now=stamp,
    )  # fmt: skip


def _safe(organization_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in organization_id).strip(".") or "_"
