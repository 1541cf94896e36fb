"""The offline branded card: requested size, brand colours, the headline wrapped inside the margins
and never cut off (every character drawn), clear errors for sizes and headlines that cannot fit."""

from __future__ import annotations

import pytest

from jobctl.domain.content import Organization
from jobctl.domain.errors import PayloadValidationError, PermanentJobError
from jobctl.domain.job_types import BUILTIN_JOB_TYPES
from jobctl.services.content.images import layout, render_card

LONG = (
    "Durable job records keep operators informed: when a worker dies mid-job, the job runs again on "
    "another worker within thirty seconds, and every attempt is on record."
)
ORG = Organization(id="acme", name="Acme Incorporated", brand_colors=("#0a3d62", "#e55039"))


@pytest.mark.parametrize(("width", "height"), [(1080, 1080), (1200, 628), (1080, 1920), (320, 320)])
def test_the_card_has_the_size_the_colours_and_all_of_the_headline(width: int, height: int) -> None:
    image, plan = render_card(ORG, LONG, width, height)
    assert image.size == (width, height) and image.format is None
    assert image.getpixel((1, 1)) == (10, 61, 98)  # the first brand colour
    assert image.getpixel((width // 2, height - 1)) == (229, 80, 57)  # the accent bar
    left, top, right, bottom = plan.box
    assert 0 < left < right <= width - left and 0 < top < bottom <= height
    assert "".join(plan.lines).replace(" ", "") == LONG.replace(" ", "")  # nothing cut off
    assert image.getpixel((left + 2, top + plan.font_size // 2)) is not None


def test_a_word_wider_than_the_card_is_broken_not_cut() -> None:
    word = "supercalifragilisticexpialidocious" * 3
    plan = layout(word, 200, 400)
    assert len(plan.lines) > 1 and "".join(plan.lines) == word


def test_a_headline_that_cannot_fit_fails_clearly() -> None:
    with pytest.raises(PermanentJobError, match="does not fit on a 64x64 card"):
        layout(LONG * 3, 64, 64)


@pytest.mark.parametrize("size", ["10x10", "5000x1000", "1024", "1024x0", "axb"])
def test_bad_sizes_are_payload_errors(size: str) -> None:
    with pytest.raises(PayloadValidationError, match="size"):
        BUILTIN_JOB_TYPES["generate-image"].validate({"organization_id": "a", "prompt": "p", "size": size})
    assert (
        BUILTIN_JOB_TYPES["generate-image"].validate({"organization_id": "a", "prompt": "p"})["size"]
        == "1024x1024"
    )


def test_the_job_detail_page_lists_a_content_jobs_items_and_image() -> None:
    from jobctl.tui.detail.content_links import content_links

    result = {
        "provider": "offline", "model": "extractive-v1",
        "items": [{"id": "cnt_1", "platform": "twitter", "variation": 0, "characters": 120, "limit": 280}],
    }  # fmt: skip
    text = content_links("generate-content", result)
    assert text is not None and "cnt_1  twitter   v1  120/280 chars  jobctl content show cnt_1" in text.plain
    image = content_links("generate-image", {"id": "img_1", "width": 64, "height": 64, "path": "/x.png"})
    assert image is not None and "img_1  64x64  /x.png" in image.plain
    assert content_links("ping", {"slept": 1}) is None and content_links("generate-content", None) is None
