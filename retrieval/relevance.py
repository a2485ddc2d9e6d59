"""Is this evidence about the question? The floor under every extractive answer.

A question's key terms are matched to the evidence's words by stem, or as a misreading
(OCR and ASR garble words: "harbor" for "harbour", "CL0SED" for "CLOSED"). Evidence is
relevant when it holds half the terms of a short question or two of a long one; words
the question insists on (a quoted phrase, a proper name) must be there too, a name only
being forgiven when the rest is held almost entirely (a name the ASR misheard).
"""

from __future__ import annotations

from functools import lru_cache

from retrieval.extract import sentences
from retrieval.planner import quoted
from retrieval.text_rules import content_words, stem, tokens
from retrieval.types import Plan

ARTICLES = frozenset({"the", "a", "an"})
ALIKE = 80  # rapidfuzz ratio of a word and its misreading


@lru_cache(maxsize=65536)
def _alike(a: str, b: str) -> bool:
    from rapidfuzz import fuzz

    return fuzz.ratio(a, b) >= ALIKE


def has(word: str, have: frozenset[str]) -> bool:
    """The word, or a misreading of it: the same stem, or 80% alike (4 letters or more)."""
    w = stem(word)
    return w in have or (len(w) >= 4 and any(_alike(w, h) for h in have if len(h) >= 3))


def held(terms: list[str], have: frozenset[str]) -> float:
    """Terms held, over the number of terms (at most four)."""
    if not terms:
        return 0.0
    found = sum(has(t, have) for t in terms)
    return min(1.0, found / min(len(terms), 4))


def must_have(plan: Plan) -> tuple[list[str], list[str]]:
    """Every word of a quoted phrase; proper names (capitalised inside a sentence)."""
    quoted_words = [w for p in quoted(plan.question) for w in tokens(p) if w not in ARTICLES]
    names = [
        w.strip("?,.!'").lower()
        for s in sentences(plan.question)
        for w in s.split()[1:]
        if w[:1].isupper() and w[1:2].islower()
    ]
    return quoted_words, [n for n in names if n not in quoted_words]


def relevance(plan: Plan, text: str) -> float:
    """0 to 1; the default floor (``VIDKG_RETRIEVAL__ANSWER_MIN_SCORE``) is 0.5. In a
    question of several sentences ("A photo shows a sign on a pole. What does it say is
    prohibited?") the last one asks, so its terms alone may suffice."""
    have = frozenset(stem(t) for t in tokens(text))
    quoted_words, names = must_have(plan)
    if not all(has(w, have) for w in quoted_words):
        return 0.0
    missing = [n for n in names if not has(n, have)]
    if missing:
        rest = [t for t in plan.terms if t not in missing]
        if not rest or sum(has(t, have) for t in rest) < 0.75 * len(rest):
            return 0.0
    parts = sentences(plan.question)
    last = content_words(parts[-1]) if len(parts) > 1 else []
    return max(held(list(plan.terms), have), held(last, have))
