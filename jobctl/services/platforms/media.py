"""The image a post carries: the file, what it is, and whether a platform takes it.

publish-content attaches the image generated for a content item (its ImageAsset). Each platform
takes it its own documented way (X and LinkedIn: our bytes, uploaded; Facebook: our bytes,
multipart; Instagram and Threads: a public URL their servers fetch), and each has its own rules,
checked here *before* anything is sent, so a file the platform would refuse fails the job as a
payload error instead of half-posting:

| platform  | formats                | max bytes | other                                   | how          |
|-----------|------------------------|-----------|-----------------------------------------|--------------|
| twitter   | PNG, JPEG (GIF, WEBP)  | 5 MB      |                                         | bytes        |
| linkedin  | PNG, JPEG (GIF)        | none said | fewer than 36,152,320 pixels            | bytes        |
| facebook  | PNG, JPEG (BMP, GIF..) | 4 MB      | (PNG over 1 MB "may appear pixelated")  | bytes        |
| instagram | JPEG only              | 8 MB      | aspect 4:5 .. 1.91:1                    | public URL   |
| threads   | PNG, JPEG              | 8 MB      | aspect at most 10:1 either way          | public URL   |

Sources: X https://docs.x.com/x-api/media/introduction ("Image: 5 MB");
LinkedIn https://learn.microsoft.com/linkedin/marketing/community-management/shares/images-api
(JPG, GIF, PNG; pixel count below 36,152,320); Facebook
https://developers.facebook.com/docs/graph-api/photo-uploads ("We recommend uploading photos
under 4MB"); Instagram https://developers.facebook.com/docs/instagram-platform/content-publishing
("JPEG is the only image format supported"; 8 MB, 4:5 to 1.91:1 in the IG User Media reference);
Threads https://developers.facebook.com/docs/threads/overview (image specifications: JPEG, PNG,
8 MB, aspect ratio limit 10:1). We only produce PNG and JPEG, so only those are accepted.

Instagram takes JPEG only while our cards are PNG: `as_jpeg` writes a JPEG copy next to the PNG
(same name, `.jpg`), inside the directory that JOBCTL_PUBLISH_MEDIA_URL serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

PNG = "image/png"
JPEG = "image/jpeg"
MB = 1024 * 1024


@dataclass(frozen=True)
class MediaFile:
    """One image on disk, as a platform client needs it."""

    path: Path
    mime_type: str  # PNG or JPEG (sniffed from the bytes, not the file name)
    width: int
    height: int
    size: int  # bytes
    public_url: str | None = None  # where the platform can fetch it (Instagram, Threads)
    alt_text: str = field(default="", repr=False)  # the image's prompt: what it shows

    @property
    def filename(self) -> str:
        return self.path.name

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True)
class MediaRules:
    formats: frozenset[str]
    max_bytes: int | None
    public_url: bool = False  # the platform fetches the image itself: it needs a public URL
    max_pixels: int | None = None
    aspect: tuple[float, float] | None = None  # width / height, inclusive


RULES: dict[str, MediaRules] = {
    "twitter": MediaRules(frozenset({PNG, JPEG}), 5 * MB),
    "linkedin": MediaRules(frozenset({PNG, JPEG}), None, max_pixels=36_152_320 - 1),
    "facebook": MediaRules(frozenset({PNG, JPEG}), 4 * MB),
    "instagram": MediaRules(frozenset({JPEG}), 8 * MB, public_url=True, aspect=(4 / 5, 1.91)),
    "threads": MediaRules(frozenset({PNG, JPEG}), 8 * MB, public_url=True, aspect=(1 / 10, 10.0)),
}


class MediaFileError(Exception):
    """The file is missing or is not an image we can publish (PNG or JPEG)."""


def sniff(head: bytes) -> str | None:
    """PNG or JPEG from the file's first bytes (its signature), else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def load_media(path: Path, *, public_url: str | None = None, alt_text: str = "") -> MediaFile:
    """Read an image's format (from its signature) and size (Pillow reads only the header)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with path.open("rb") as handle:
            mime = sniff(handle.read(16))
            if mime is None:
                raise MediaFileError(f"{path.name} is not a PNG or JPEG file")
            handle.seek(0)
            with Image.open(handle) as image:
                width, height = image.size
    except FileNotFoundError:
        raise MediaFileError(f"the image file {path} is gone (generate the image again)") from None
    except (OSError, UnidentifiedImageError) as exc:
        raise MediaFileError(f"{path.name} cannot be read as an image: {exc}") from None
    return MediaFile(path, mime, width, height, path.stat().st_size, public_url, alt_text)


def as_jpeg(media: MediaFile, quality: int = 90) -> MediaFile:
    """A JPEG of `media` (itself when it is one): written once next to it as `<name>.jpg`
    (atomically), with the public URL changed the same way. A 1080x1080 card: ~40 ms."""
    if media.mime_type == JPEG:
        return media
    from PIL import Image

    target = media.path.with_suffix(".jpg")
    if not target.exists():
        tmp = target.with_name(f".{target.name}.tmp")
        with Image.open(media.path) as image:
            image.convert("RGB").save(tmp, format="JPEG", quality=quality, optimize=True)
        tmp.replace(target)
    url = media.public_url
    if url is not None and url.endswith(media.path.suffix):
        url = url[: -len(media.path.suffix)] + ".jpg"
    return replace(media, path=target, mime_type=JPEG, size=target.stat().st_size, public_url=url)


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def media_problems(platform: str, media: MediaFile) -> list[str]:
    """Why `platform` would refuse this image (empty: it takes it)."""
    rules = RULES[platform]
    problems: list[str] = []
    if media.mime_type not in rules.formats:
        kinds = " or ".join(sorted(m.removeprefix("image/").upper() for m in rules.formats))
        problems.append(f"{platform} takes {kinds} images, not {media.mime_type}")
    if rules.max_bytes is not None and media.size > rules.max_bytes:
        problems.append(
            f"{media.filename} is {_mb(media.size)}; {platform} takes images up to {_mb(rules.max_bytes)}"
        )
    if rules.max_pixels is not None and media.width * media.height > rules.max_pixels:
        problems.append(
            f"{media.filename} has {media.width * media.height:,} pixels; {platform} takes fewer than "
            f"{rules.max_pixels + 1:,}"
        )
    if rules.aspect is not None and media.height > 0:
        low, high = rules.aspect
        ratio = media.width / media.height
        if not low - 1e-6 <= ratio <= high + 1e-6:
            problems.append(
                f"{media.filename} is {media.width}x{media.height} (aspect {ratio:.2f}); {platform} takes "
                f"aspect ratios from {low:.2f} to {high:.2f} (width / height)"
            )
    if rules.public_url and not media.public_url:
        problems.append(
            f"{platform} fetches images from a public URL and cannot take uploaded bytes: set "
            "JOBCTL_PUBLISH_MEDIA_URL (or [platforms] media_url) to the public URL that serves the "
            "data dir's images/ directory"
        )
    return problems
