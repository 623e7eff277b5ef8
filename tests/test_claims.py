"""The claims ledger (``book/sources.md``): every claim a chapter judges is quoted there
from that chapter's page, every claim listed there carries a verdict, and every verdict is
one of the four the page explains. Each chapter's own tests reach every verdict of its
claims; these tests hold the ledger together, on the committed results."""

import re

import pytest

from parbook import chapters, claims
from parbook.bench.results import load
from parbook.claims import Judgement, Verdict
from tests.conftest import ROOT

SOURCES = ROOT / "book" / "sources.md"
#: A quoted claim: {glue:text}`PAGE.md::claim_ID:s` or the same with _why.
QUOTED = re.compile(r"\{glue:text\}`([a-z-]+)\.md::claim_(a00[0-4]_[a-z0-9_]+?)(_why)?:s`")


def judged_by_chapter() -> dict[str, dict[str, Judgement]]:
    """Chapter name -> the claims it judges on its committed result."""
    judged = {}
    for name in chapters.names():
        analysis = chapters.get(name).analysis
        found = analysis.findings(load(ROOT / "tests" / "results" / f"{name}.json"))
        judged[name] = claims.of_chapter(analysis, found)
    return judged


@pytest.fixture(scope="module")
def judged():
    return judged_by_chapter()


@pytest.fixture(scope="module")
def quoted() -> dict[str, dict[str, set[bool]]]:
    """Claim id -> page that sources.md quotes it from -> which keys ({False: the verdict,
    True: the reason})."""
    found: dict[str, dict[str, set[bool]]] = {}
    for page, claim_id, why in QUOTED.findall(SOURCES.read_text()):
        found.setdefault(claim_id, {}).setdefault(page, set()).add(bool(why))
    return found


def test_claim_ids_are_unique_across_chapters(judged):
    seen: dict[str, str] = {}
    for name, made in judged.items():
        for claim_id in made:
            assert claims.CLAIM_ID.fullmatch(claim_id), claim_id
            assert claim_id not in seen, f"{claim_id} judged by {seen.get(claim_id)} and {name}"
            seen[claim_id] = name
    assert {claim_id[:4] for claim_id in seen} == {"a000", "a001", "a002", "a003", "a004"}


def test_every_judged_claim_is_in_the_ledger_from_its_own_page(judged, quoted):
    for name, made in judged.items():
        for claim_id in made:
            assert quoted.get(claim_id) == {name: {False, True}}, (
                f"sources.md must quote {name}.md::claim_{claim_id} and its _why once")


def test_the_ledger_quotes_no_claim_nobody_judges(judged, quoted):
    made = {claim_id for chapter in judged.values() for claim_id in chapter}
    assert set(quoted) <= made, set(quoted) - made


def test_every_listed_claim_carries_a_verdict():
    """Each bullet under "What it claims" quotes exactly one claim's verdict and reason."""
    text = SOURCES.read_text()
    sections = re.findall(r"What it claims:\n\n(.*?)(?=\n\n[^- ])", text, flags=re.S)
    assert len(sections) == 5
    for section in sections:
        for bullet in re.split(r"\n(?=- )", section):
            ids = {claim_id for _page, claim_id, _why in QUOTED.findall(bullet)}
            assert len(ids) == 1, f"a claim without exactly one verdict: {bullet[:80]!r}"
            assert "**Verdict:**" in bullet, bullet[:80]


def test_every_verdict_is_reached_somewhere(judged):
    """The committed results use more than one verdict: the ledger is not a column of
    "holds" whatever the data say."""
    reached = {j.verdict for chapter in judged.values() for j in chapter.values()}
    assert {Verdict.HOLDS, Verdict.UNMEASURED} <= reached and len(reached) >= 3


def test_the_page_explains_every_verdict():
    text = SOURCES.read_text()
    for verdict in Verdict:
        assert f"*{verdict.value}*" in text, verdict


def test_judgements_are_whole_sentences():
    assert claims.judge(True, "It held.", "It did not.") == Judgement(Verdict.HOLDS, "It held.")
    assert claims.judge(False, "It held.", "It did not.").verdict is Verdict.FAILS
    for broken in ("", "lower case start.", "No full stop"):
        with pytest.raises(ValueError):
            Judgement(Verdict.HOLDS, broken)
    with pytest.raises(ValueError):
        claims.texts({"not-a-claim-id": Judgement(Verdict.HOLDS, "Fine.")})
    assert claims.texts({"a000_x": Judgement(Verdict.PARTLY, "Half.")}) == {
        "claim_a000_x": "holds in part", "claim_a000_x_why": "Half."}
