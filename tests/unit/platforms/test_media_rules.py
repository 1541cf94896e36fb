"""The platforms' image rules (formats, bytes, pixels, aspect ratio, public URL), the format
sniffed from the bytes rather than the name, and Instagram's JPEG copy of a PNG card."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from jobctl.services.platforms.media import (
    JPEG,
    MB,
    PNG,
    MediaFile,
    MediaFileError,
    as_jpeg,
    load_media,
    media_problems,
    sniff,
)


def card(tmp_path: Path, size: tuple[int, int] = (1080, 1080), name: str = "card.png") -> Path:
    path = tmp_path / name
    Image.new("RGB", size, "#336699").save(path, format="PNG")
    return path


def media(**changes: object) -> MediaFile:
    base = MediaFile(Path("/x/card.png"), PNG, 1080, 1080, 200_000, "https://cdn.test/acme/card.png")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_square_png_card_suits_every_platform_but_instagram_which_takes_jpeg_only() -> None:
    for platform in ("twitter", "linkedin", "facebook", "threads"):
        assert media_problems(platform, media()) == []
    assert media_problems("instagram", media()) == ["instagram takes JPEG images, not image/png"]
    assert media_problems("instagram", media(mime_type=JPEG)) == []


@pytest.mark.parametrize(
    ("platform", "limit_mb"), [("twitter", 5), ("facebook", 4), ("instagram", 8), ("threads", 8)]
)
def test_bytes_over_the_platforms_limit_are_refused(platform: str, limit_mb: int) -> None:
    at_limit = media(mime_type=JPEG, size=limit_mb * MB)
    assert media_problems(platform, at_limit) == []
    (problem,) = media_problems(platform, replace(at_limit, size=limit_mb * MB + 1))
    assert f"takes images up to {limit_mb:.1f} MB" in problem


def test_linkedin_counts_pixels_and_instagram_and_threads_check_the_aspect_ratio() -> None:
    (problem,) = media_problems("linkedin", media(width=8000, height=4600))
    assert "36,800,000 pixels" in problem and "fewer than 36,152,320" in problem
    assert media_problems("instagram", media(mime_type=JPEG, width=1080, height=1350)) == []  # 4:5
    assert media_problems("instagram", media(mime_type=JPEG, width=1910, height=1000)) == []  # 1.91:1
    assert "aspect" in media_problems("instagram", media(mime_type=JPEG, width=1080, height=1400))[0]
    assert media_problems("threads", media(width=4000, height=400)) == []  # 10:1
    assert "aspect" in media_problems("threads", media(width=4100, height=400))[0]


def test_instagram_and_threads_need_a_public_url() -> None:
    for platform in ("instagram", "threads"):
        (problem,) = media_problems(platform, media(mime_type=JPEG, public_url=None))
        assert "cannot take uploaded bytes" in problem and "JOBCTL_PUBLISH_MEDIA_URL" in problem
    assert media_problems("twitter", media(public_url=None)) == []  # bytes are uploaded


def test_the_format_comes_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n....") == PNG and sniff(b"\xff\xd8\xff\xe0") == JPEG
    assert sniff(b"GIF89a") is None
    disguised = tmp_path / "card.png"
    Image.new("RGB", (10, 10)).save(disguised, format="JPEG")
    loaded = load_media(disguised)
    assert loaded.mime_type == JPEG and (loaded.width, loaded.height) == (10, 10)
    (tmp_path / "anim.png").write_bytes(b"GIF89a" + b"\0" * 20)
    with pytest.raises(MediaFileError, match="not a PNG or JPEG"):
        load_media(tmp_path / "anim.png")
    with pytest.raises(MediaFileError, match="is gone"):
        load_media(tmp_path / "missing.png")


def test_as_jpeg_writes_a_jpeg_copy_beside_the_png_once(tmp_path: Path) -> None:
    png = load_media(card(tmp_path, (1080, 1350)), public_url="https://cdn.test/acme/card.png", alt_text="x")
    jpeg = as_jpeg(png)
    assert (
        jpeg.path == tmp_path / "card.jpg"
        and jpeg.mime_type == JPEG
        and jpeg.size == jpeg.path.stat().st_size
    )
    assert jpeg.public_url == "https://cdn.test/acme/card.jpg" and (jpeg.width, jpeg.height) == (1080, 1350)
    assert sniff(jpeg.read()[:4]) == JPEG and jpeg.alt_text == "x"
    written = jpeg.path.stat().st_mtime_ns
    assert as_jpeg(png).path.stat().st_mtime_ns == written  # reused, not redrawn
    assert as_jpeg(jpeg) is jpeg
