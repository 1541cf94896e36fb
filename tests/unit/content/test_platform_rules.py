"""The platform rules: X's weighted length against the twitter-text reference port, the others'
limits, Instagram's hashtag cap, and the repair that shortens a draft into its budget."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from jobctl.domain.content import Organization
from jobctl.domain.platform_rules import RULES, hashtags_in, twitter_length, utf16_length
from jobctl.services.content.compose import budget, choose_hashtags, shorten

CASES = [
    ("hello world", 11),
    ("english text 日本語 😷 https://example.com", 46),
    ("https://example.com/a/very/long/path/that/goes/on/and/on?with=query&and=more", 23),
    ("see example.com/x, now", 32),
    ("http://127.0.0.1:8000/post.html", 31),  # an IP address is no URL to X: counted by characters
    ("👨‍👩‍👧‍👦 family", 9),  # one ZWJ emoji sequence counts 2
    ("🇯🇵 1️⃣ 👍🏽", 8),
    ("한국어 中文", 11),
    ("“quotes” — dash…", 17),  # the ellipsis U+2026 is outside the light ranges
    ("e\u0301", 1),  # NFC first
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_twitter_weighted_length(text: str, expected: int) -> None:
    assert twitter_length(text) == expected == parse_tweet(text).weightedLength


_PIECES = st.sampled_from(
    [
        "queue", "worker", "Retry", "jobs,", "done.", "日本語", "中文", "キュー", "한국어", "😷", "👍🏽",
        "🇫🇷", "❤️", "#Queues", "@acme", "https://example.com/a", "http://blog.example.org/p?q=1",
        "www.example.net", "example.io/x", "(see https://en.wikipedia.org/wiki/Queue_(abstract_data_type))",
        "—", "…", "é", "ß", "Ωmega", "x" * 40, "3.14", "i.e.", "ok!",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, min_size=0, max_size=40), st.sampled_from([" ", "\n", "  "]))
def test_twitter_length_matches_the_reference_port(pieces: list[str], sep: str) -> None:
    text = sep.join(pieces)
    assert twitter_length(text) == parse_tweet(text).weightedLength, text


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60))
@settings(max_examples=300, deadline=None)
def test_twitter_length_without_dots_matches_the_port_on_any_text(text: str) -> None:
    text = text.replace(".", " ")  # no domains: the one place our TLD check is looser than X's
    assert twitter_length(text) == parse_tweet(text).weightedLength, repr(text)


def test_limits_and_hashtag_cap() -> None:
    assert {p: r.max_chars for p, r in RULES.items()} == {
        "twitter": 280, "threads": 500, "linkedin": 3000, "instagram": 2200, "facebook": 63206,
    }  # fmt: skip
    assert RULES["threads"].violations("x" * 500) == []
    assert RULES["threads"].violations("x" * 501) == ["501 characters, over the limit of 500"]
    assert RULES["twitter"].violations("日" * 140) == [] and RULES["twitter"].violations("日" * 141)
    tags = " ".join(f"#t{i}a" for i in range(31))
    assert RULES["instagram"].violations(tags) == ["31 hashtags, over the limit of 30"]
    assert utf16_length("😷") == 2 and hashtags_in("a #b c#d &#e #2026 #x_1") == ["#b", "#x_1"]


def test_organization_limits_tighten_the_budget_and_hashtag_rules_apply() -> None:
    org = Organization(
        id="acme", name="Acme", hashtags_always=("#Acme",), hashtags_never=("#Queues",),
        limits={"twitter": 100, "max_hashtags": 2},
    )  # fmt: skip
    plan = budget(org, "twitter")
    assert (plan.max_chars, plan.max_hashtags) == (100, 2)
    assert choose_hashtags(org, ["queues", "workers", "retries"], 2) == ["#Acme", "#Workers"]
    assert budget(Organization.defaults("x"), "instagram").max_hashtags == 8
    assert budget(Organization(id="x", name="x", limits={"max_hashtags": 99}), "instagram").max_hashtags == 30


def test_shorten_repairs_into_the_budget() -> None:
    plan = budget(Organization.defaults("acme"), "twitter")
    long = " ".join(f"Sentence number {i} says something about queues." for i in range(12))
    body = f"{long} https://example.com/post #Queues #Jobs #Extra"
    fixed = shorten(body, plan)
    assert plan.fits(fixed) and fixed.startswith("Sentence number 0") and len(hashtags_in(fixed)) <= 2
