"""generate-image through an OpenAI-compatible images endpoint: `POST {base}/images/generations`.

The answer must carry the image inline (`data[0].b64_json`): jobctl asks for it, and never
fetches an image URL an answer might name instead (that would be a fetch to an address no one
checked). The bytes must decode as an image within Pillow's decompression-bomb limit; an image
of another size than asked is fitted to the exact size (scaled to cover, centre-cropped), so the
asset always has the requested size. Deadline, retries, deferral and the key's handling are the
endpoint's (jobctl.services.content.endpoint).
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

from jobctl.domain.errors import JobProcessingError, PermanentJobError
from jobctl.services.content.endpoint import Endpoint

NAME = "images-api"
MAX_BYTES = 50 * 1024 * 1024


def request_body(model: str, prompt: str, width: int, height: int) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": prompt, "size": f"{width}x{height}", "n": 1}
    if not model.startswith("gpt-image"):  # gpt-image models always answer b64 and refuse the field
        body["response_format"] = "b64_json"
    return body


def api_image(endpoint: Endpoint, model: str, prompt: str, width: int, height: int) -> Any:
    """The endpoint's image for `prompt`, as a PIL image of exactly width x height."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    data = endpoint.post("/images/generations", request_body(model, prompt, width, height))
    try:
        first = data["data"][0]
    except (KeyError, IndexError, TypeError):
        raise JobProcessingError(f"{NAME} endpoint sent an answer without data[0]") from None
    encoded = first.get("b64_json") if isinstance(first, dict) else None
    if not isinstance(encoded, str):
        raise PermanentJobError(
            f"{NAME} endpoint answered without b64_json (jobctl does not fetch image URLs): "
            "use an endpoint that returns the image inline"
        )
    if len(encoded) > MAX_BYTES * 4 // 3 + 4:
        raise PermanentJobError(f"{NAME} endpoint sent an image over {MAX_BYTES // 2**20} MB")
    try:
        raw = base64.b64decode(encoded, validate=True)
        with Image.open(io.BytesIO(raw)) as opened:
            opened.load()
            image = opened.convert("RGB")
    except (binascii.Error, UnidentifiedImageError, Image.DecompressionBombError, OSError) as exc:
        why = type(exc).__name__
        raise JobProcessingError(f"{NAME} endpoint sent bytes that are not an image ({why})") from None
    if image.size != (width, height):
        image = ImageOps.fit(image, (width, height))
    return image
