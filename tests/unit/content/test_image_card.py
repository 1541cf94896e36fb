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
