"""The offline provider over many topics and contexts (Hypothesis): every variation obeys its
platform's rules and the organisation's, variations of one platform differ, and every sentence
of a post is a sentence (or the cut start of one) of the context items: nothing invented."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobctl.domain.content import Organization
from jobctl.domain.context import ItemRecord
from jobctl.domain.errors import PermanentJobError
from jobctl.domain.platform_rules import RULES, hashtags_in
from jobctl.services.content.compose import Brief, budget
from jobctl.services.content.offline import OfflineProvider
from jobctl.services.content.ranking import rank_items

NOW = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = [
    "queue", "worker", "jobs", "retry", "reliable", "broker", "durable", "record", "operators",
    "attempt", "dashboard", "latency", "throughput", "brand", "launch", "customers", "pricing",
    "日本語", "キュー", "中文", "한국어", "😷", "👍🏽", "naïve", "Straße", "#Ops", "supercalifragilistic" * 3,
]  # fmt: skip
PLATFORMS = list(RULES)


@st.composite
def sentence(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=3, max_size=70))
    return " ".join(words).capitalize() + draw(st.sampled_from([".", "!", "?", "。"]))


@st.composite
def item(draw: st.DrawFn, n: int) -> ItemRecord:
    text = " ".join(draw(st.lists(sentence(), min_size=1, max_size=8)))
    url = draw(st.one_of(st.none(), st.just(f"https://blog.example.com/{'p' * draw(st.integers(1, 300))}")))
    title = draw(st.one_of(st.none(), sentence()))
    return ItemRecord(f"itm_{n}", "src_1", "acme", url, None, title, None, None, text, "h", NOW)


@st.composite
def organization(draw: st.DrawFn) -> Organization:
    limits: dict[str, int] = {}
    if draw(st.booleans()):
        limits["max_hashtags"] = draw(st.integers(0, 40))
    if draw(st.booleans()):
        limits[draw(st.sampled_from(PLATFORMS))] = draw(st.integers(120, 3000))
    return Organization(
        id="acme", name="Acme",
        hashtags_always=tuple(draw(st.lists(st.sampled_from(["#Acme", "#Jobs"]), max_size=2, unique=True))),
        hashtags_never=tuple(draw(st.lists(st.sampled_from(["#Queue", "#Worker"]), max_size=2, unique=True))),
        limits=limits,
    )  # fmt: skip


def _normal(text: str) -> str:
    return " ".join(text.split())


def _assert_nothing_invented(body: str, items: list[ItemRecord]) -> None:
    sources = [_normal(f"{i.title or ''} {i.text}") for i in items]
    sources += [re.sub(r"#(\w)", r"\1", s) for s in sources]  # inline hashtags become words
    links = {i.url for i in items if i.url}
    rest = body
    for link in sorted(links, key=len, reverse=True):
        rest = rest.replace(link, " ")
    rest = re.sub(r"Source:", " ", rest)
    for tag in hashtags_in(body):
        rest = rest.replace(tag, " ", 1) if not any(tag in s for s in sources) else rest
    for fragment in re.split(r"\n+|(?<=[.!?。:])\s+", rest):
        piece = _normal(fragment).rstrip(":").removesuffix("…").strip()
        if piece:
            assert any(piece in s for s in sources), (piece, body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.integers(1, 6).flatmap(lambda n: st.tuples(*[item(k) for k in range(n)])),
    topic=st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join),
    platforms=st.lists(st.sampled_from(PLATFORMS), min_size=1, max_size=5, unique=True),
    count=st.integers(1, 5),
    org=organization(),
)
def test_every_variation_obeys_its_platform(
    items: tuple[ItemRecord, ...], topic: str, platforms: list[str], count: int, org: Organization
) -> None:
    ranking = rank_items(topic, list(items))
    brief = Brief(org, topic, org.tone, ranking)
    used = [r.item for r in ranking.items]
    for platform in platforms:
        plan = budget(org, platform)
        try:
            drafts = OfflineProvider().drafts(brief, platform, count)
        except PermanentJobError as exc:  # only when the context has too little to vary
            assert count > 1 and "ask for fewer variations" in str(exc), exc
            continue
        assert len(drafts) == count
        assert len({d.body for d in drafts}) == count  # variations differ
        for draft in drafts:
            assert plan.violations(draft.body) == [], draft.body
            assert RULES[platform].violations(draft.body) == []
            assert not any(t.lower() in {n.lower() for n in org.hashtags_never} for t in draft.hashtags)
            assert set(draft.context_item_ids) <= {i.id for i in items}
            _assert_nothing_invented(draft.body, used)


def test_a_long_context_fills_a_linkedin_post_but_stays_in_an_x_post() -> None:
    text = " ".join(f"Queues need durable record number {n} for every worker." for n in range(200))
    items = [ItemRecord("itm_1", "s", "acme", "https://e.com/a", None, "Queues", None, None, text, "h", NOW)]
    topic = "durable queues"
    brief = Brief(Organization.defaults("acme"), topic, "neutral", rank_items(topic, items))
    x = OfflineProvider().drafts(brief, "twitter", 5)
    linked = OfflineProvider().drafts(brief, "linkedin", 1)[0]
    assert all(RULES["twitter"].count(d.body) <= 280 for d in x) and len({d.body for d in x}) == 5
    assert "https://e.com/a" in x[0].body and linked.body.count(".") >= 5


def test_a_sentence_too_long_for_x_is_cut_at_a_word() -> None:
    text = " ".join(["durable"] * 200) + "."
    items = [ItemRecord("itm_1", "s", "acme", None, None, None, None, None, text, "h", NOW)]
    brief = Brief(Organization.defaults("acme"), "durable", "neutral", rank_items("durable", items))
    (draft,) = OfflineProvider().drafts(brief, "twitter", 1)
    assert draft.body.split(" #")[0].endswith("durable…") and RULES["twitter"].count(draft.body) <= 280


@pytest.mark.parametrize("count", [5])
def test_too_little_context_for_the_variations_asked_fails_clearly(count: int) -> None:
    items = [ItemRecord("itm_1", "s", "acme", None, None, None, None, None, "Queues are great.", "h", NOW)]
    brief = Brief(Organization.defaults("acme"), "queues", "neutral", rank_items("queues", items))
    with pytest.raises(PermanentJobError, match="ask for fewer variations"):
        OfflineProvider().drafts(brief, "twitter", count)
