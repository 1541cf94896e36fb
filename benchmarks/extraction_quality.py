"""Main-text extraction quality on our own article corpus: jobctl's extractor vs the libraries as they come.

The corpus is `tests/fixtures/articles/` (pages written for jobctl, with hand-made ground truth; never
a public benchmark's pages). The score is the usual token-level one: lowercased word tokens (each CJK
character is a token), bag-of-words multiset overlap, precision/recall/F1 per page, then the mean.

`python -m benchmarks.extraction_quality [--pages] ` prints the per-page table; `python -m benchmarks
--only extraction-quality` adds a row whose ratio is our mean F1 over trafilatura's (target >= 1).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.harness import Benchmark, Result, Target, at_least

if TYPE_CHECKING:
    from benchmarks.environment import Env

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "articles"
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def tokens(text: str) -> Counter[str]:
    """Lowercased word tokens as a multiset; CJK text has no spaces, so each character is a token."""
    return Counter(_TOKEN.findall(text.lower()))


def prf(predicted: str, truth: str) -> tuple[float, float, float]:
    """Token-level (precision, recall, F1) of `predicted` against `truth` (bag-of-words overlap)."""
    got, want = tokens(predicted), tokens(truth)
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0, 0.0, 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return precision, recall, 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class Page:
    name: str
    kind: str
    html: str
    truth: str
    url: str


def load_corpus(directory: Path = CORPUS) -> list[Page]:
    """Every NAME.html with its NAME.txt truth, decoded the way a fetch decodes it (meta charset etc.)."""
    from jobctl.services.context.decoding import decode_text

    pages = []
    for html_path in sorted(directory.glob("*.html")):
        meta = json.loads(html_path.with_suffix(".json").read_text(encoding="utf-8"))
        pages.append(
            Page(
                name=html_path.stem,
                kind=str(meta.get("kind") or ""),
                html=decode_text(html_path.read_bytes(), None),
                truth=html_path.with_suffix(".txt").read_text(encoding="utf-8"),
                url=f"https://{html_path.stem.replace('_', '-')}.example/article",
            )
        )
    return pages


def _trafilatura(page: Page) -> str:
    import trafilatura

    return trafilatura.extract(page.html) or ""


def _readability(page: Page) -> str:
    from readability import Document

    from jobctl.services.context.textify import html_fragment_to_text

    try:
        return html_fragment_to_text(Document(page.html).summary(html_partial=True))
    except Exception:  # readability raises bare exceptions on pages it cannot handle
        return ""


def _jobctl(page: Page) -> str:
    from jobctl.services.context.extract import ExtractionError, extract_article

    try:
        return extract_article(page.html, url=page.url).text
    except ExtractionError:
        return ""


EXTRACTORS: dict[str, Callable[[Page], str]] = {
    "trafilatura": _trafilatura,
    "readability": _readability,
    "jobctl": _jobctl,
}


@dataclass
class Scores:
    """Per-page (precision, recall, F1) of one extractor, and its mean wall time per page."""

    name: str
    pages: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    ms_per_page: float = 0.0

    def mean(self, index: int = 2) -> float:
        return statistics.fmean(v[index] for v in self.pages.values()) if self.pages else 0.0


def score(pages: list[Page], names: tuple[str, ...] = tuple(EXTRACTORS)) -> dict[str, Scores]:
    """Run each extractor on every page (once untimed to warm imports, then timed)."""
    out: dict[str, Scores] = {}
    for name in names:
        fn = EXTRACTORS[name]
        fn(pages[0])
        result = Scores(name)
        started = time.perf_counter()
        for page in pages:
            result.pages[page.name] = prf(fn(page), page.truth)
        result.ms_per_page = (time.perf_counter() - started) * 1000 / len(pages)
        out[name] = result
    return out


def print_report(pages: list[Page], scores: dict[str, Scores], out: object = None) -> None:
    """Per-page F1 of every extractor, then mean P/R/F1 and ms/page."""
    stream = out if out is not None else sys.stdout
    names = list(scores)
    write = stream.write  # type: ignore[attr-defined]
    write(f"{'page':28} {'kind':10} " + " ".join(f"{n:>12}" for n in names) + "\n")
    for page in pages:
        cells = " ".join(f"{scores[n].pages[page.name][2]:12.3f}" for n in names)
        write(f"{page.name:28} {page.kind:10} {cells}\n")
    for label, index in (("mean precision", 0), ("mean recall", 1), ("mean F1", 2)):
        write(f"{label:39} " + " ".join(f"{scores[n].mean(index):12.3f}" for n in names) + "\n")
    worst = " ".join(f"{min(v[2] for v in scores[n].pages.values()):12.3f}" for n in names)
    write(f"{'min F1':39} {worst}\n")
    write(f"{'ms/page':39} " + " ".join(f"{scores[n].ms_per_page:12.1f}" for n in names) + "\n")


def metadata_accuracy(pages: list[Page], directory: Path = CORPUS) -> dict[str, float]:
    """Share of pages where our title, author and publication day equal the page's .json truth."""
    from jobctl.services.context.extract import ExtractionError, extract_article

    def same(a: str | None, b: str | None) -> bool:
        return " ".join(_TOKEN.findall((a or "").lower())) == " ".join(_TOKEN.findall((b or "").lower()))

    hits = {"title": 0, "author": 0, "date": 0}
    for page in pages:
        want = json.loads((directory / f"{page.name}.json").read_text(encoding="utf-8"))
        try:
            got = extract_article(page.html, url=page.url)
        except ExtractionError:
            continue
        day = got.published_at.date().isoformat() if got.published_at else None
        hits["title"] += same(got.title, want["title"])
        hits["author"] += same(got.author, want["author"])
        want_day = None
        if want["date"]:
            want_day = datetime.fromisoformat(want["date"]).astimezone(UTC).date().isoformat()
        hits["date"] += day == want_day
    return {k: v / len(pages) for k, v in hits.items()}


def run(env: Env) -> Result:
    pages = load_corpus()
    scores = score(pages, ("trafilatura", "jobctl"))
    ours, base = scores["jobctl"], scores["trafilatura"]
    worst = min(ours.pages, key=lambda n: ours.pages[n][2])
    return Result(
        "extraction-quality",
        ours.mean(),
        base.mean(),
        "mean F1",
        [at_least(1.0), Target("min_abs", 0.85)],
        note=(
            f"{len(pages)} pages we wrote; worst {worst} {ours.pages[worst][2]:.2f}; "
            f"{ours.ms_per_page:.0f} vs {base.ms_per_page:.0f} ms/page"
        ),
        extra={"ms_per_page": ours.ms_per_page, "baseline_ms_per_page": base.ms_per_page},
    )


BENCHMARKS = [
    Benchmark("extraction-quality", "main-text F1 on our article corpus vs trafilatura defaults", run)
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.extraction_quality", description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="directory of NAME.html/.txt/.json")
    parser.add_argument("--only", nargs="+", choices=list(EXTRACTORS), default=list(EXTRACTORS))
    args = parser.parse_args(argv)
    pages = load_corpus(args.corpus)
    if not pages:
        print(f"no pages in {args.corpus}", file=sys.stderr)
        return 2
    print_report(pages, score(pages, tuple(args.only)))
    if "jobctl" in args.only:
        shares = metadata_accuracy(pages, args.corpus)
        print("jobctl metadata right: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
