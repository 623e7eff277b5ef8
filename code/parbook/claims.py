"""The claims ledger: every claim of the source articles, judged by the data of the build.

The page ``book/sources.md`` lists each article's claims. Every claim is judged by one
chapter, the one whose experiment measures it: that chapter's ``analysis`` module has a
function ``claims(found) -> dict[str, Judgement]``, claim id -> judgement, computed from
the same findings as its page. :func:`parbook.page.open` glues each judgement under two
keys, which the ledger quotes from the chapter's page::

    {glue:text}`overhead.md::claim_a000_ray_floor:s`      -> "holds in part"
    {glue:text}`overhead.md::claim_a000_ray_floor_why:s`  -> the sentence saying why

A claim id starts with its article (``a000_`` to ``a004_``) and is unique in the book. A
claim the book does not measure is judged all the same, ``not measured``, by the chapter
that discusses it, so that every claim appears in the ledger in one shape, and the day a
chapter measures it only that chapter's judgement changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import Any

__all__ = ["CLAIM_ID", "Judgement", "Verdict", "glue_key", "judge", "texts"]

#: A claim id: the article it comes from, then a name, e.g. ``a000_ray_floor``.
CLAIM_ID = re.compile(r"a00[0-4]_[a-z0-9_]+")


class Verdict(Enum):
    """What this build's data say of a claim. The ledger prints the value."""

    #: Every part of the claim that matters was measured, and came out as the article says.
    HOLDS = "holds"
    #: Some of it held; the rest did not, or is not measured here (the reason says which).
    PARTLY = "holds in part"
    #: This build's data contradict it.
    FAILS = "does not hold here"
    #: Nothing in the build measures or demonstrates it.
    UNMEASURED = "not measured"


@dataclass(frozen=True)
class Judgement:
    """One claim's verdict on this build, and the whole sentence (or two) that says why,
    with the figures it rests on."""

    verdict: Verdict
    reason: str

    def __post_init__(self) -> None:
        reason = self.reason.strip()
        if not reason or not reason[0].isupper() or not reason.endswith("."):
            raise ValueError(f"a judgement's reason is whole sentences: {self.reason!r}")


def judge(held: bool, holds: str, fails: str) -> Judgement:
    """A claim that either holds or does not, each outcome with its own sentence."""
    return Judgement(Verdict.HOLDS, holds) if held else Judgement(Verdict.FAILS, fails)


def glue_key(claim_id: str, why: bool = False) -> str:
    """The glue key of a claim's verdict (or, with ``why``, of its reason)."""
    return f"claim_{claim_id}_why" if why else f"claim_{claim_id}"


def of_chapter(analysis: ModuleType, found: Any) -> dict[str, Judgement]:
    """The claims a chapter judges (none if its analysis has no ``claims``)."""
    judged = getattr(analysis, "claims", None)
    return {} if judged is None else judged(found)


def texts(judgements: dict[str, Judgement]) -> dict[str, str]:
    """The glue keys and values of a chapter's judgements."""
    glued = {}
    for claim_id, judgement in judgements.items():
        if not CLAIM_ID.fullmatch(claim_id):
            raise ValueError(f"not a claim id (aNNN_name): {claim_id!r}")
        glued[glue_key(claim_id)] = judgement.verdict.value
        glued[glue_key(claim_id, why=True)] = judgement.reason
    return glued
