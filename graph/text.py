"""Text keys of entities: normalised forms, fuzzy sameness, names and key phrases in speech.

OCR misreads a letter and Whisper spells a name two ways; entity keys are therefore a
normalised form (lower case, punctuation dropped, spaces folded) compared fuzzily, with
one hard rule: the numbers must agree, since "GATE 14" and "GATE 41" are different signs
(a digit between letters, as in "CL0SED", is taken for a misread letter).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graph.types import Word

_PUNCT = re.compile(r"[^\w\s]|_")
_SENTENCE_END = re.compile(r"[.!?]$")
_RUN_END = re.compile(r"[,.;:!?]$")
# Capitalised words that start a run but are not names on their own.
_NOT_NAMES = frozenset(
    (  # noqa: SIM905 - a word list reads better as prose
        "i a an the this that these those it its he she we they you my our your his her "
        "their there here what when where who why how and but or so if then at on in of for "
        "to by with from as is are was were be been yes no not ok okay oh well now today"
    ).split()
)


def canonical(surface: str) -> str:
    """The entity key of a surface form: "Biology Exam: ROOM 508" -> "biology exam room 508"."""
    folded = unicodedata.normalize("NFKC", surface).lower()
    return " ".join(_PUNCT.sub(" ", folded).split())


def alnum_count(surface: str) -> int:
    return sum(ch.isalnum() for ch in surface)


def same_entity(a: str, b: str, min_ratio: float, min_chars: int) -> float:
    """Similarity (0-100) of two canonical forms when they may be one entity, else 0."""
    if a == b:
        return 100.0
    if min(len(a), len(b)) < min_chars or _numbers(a) != _numbers(b):
        return 0.0
    from rapidfuzz import fuzz

    score = float(fuzz.ratio(a, b))
    return score if score >= min_ratio else 0.0


_IN_WORD_DIGIT = re.compile(r"(?<=[a-z])\d(?=[a-z])")


def _numbers(form: str) -> list[str]:
    """The numbers of a form; a digit inside a word ("cl0sed") is a misread letter."""
    return re.findall(r"\d+", _IN_WORD_DIGIT.sub("_", form))


@dataclass(frozen=True)
class Phrase:
    """A name or key phrase found in a speech segment, with the times of its words."""

    surface: str
    start_s: float
    end_s: float


def _token(word: Word) -> str:
    return word.text.strip().strip("\"'()[]")


def names_in(words: Sequence[Word]) -> list[Phrase]:
    """Proper names by Whisper's casing: runs of capitalised words ("Priya Okafor",
    "Lindholm Island"). A lone capitalised word that starts a sentence is not a name."""
    found: list[Phrase] = []
    run: list[Word] = []
    run_at_start = False
    sentence_start = True

    def close() -> None:
        nonlocal run
        tokens = [_PUNCT.sub("", _token(w)) for w in run]
        while tokens and tokens[0].lower() in _NOT_NAMES:
            tokens, run[:] = tokens[1:], run[1:]
        if run and (len(run) >= 2 or not run_at_start) and alnum_count("".join(tokens)) >= 2:
            found.append(Phrase(" ".join(tokens), run[0].start_s, run[-1].end_s))
        run = []

    for word in words:
        token = _token(word)
        bare = _PUNCT.sub("", token)
        capital = bool(bare) and bare[0].isupper() and not bare.isdigit()
        if capital:
            if not run:
                run_at_start = sentence_start
            run.append(word)
        elif run:
            close()
        if capital and _RUN_END.search(token):
            close()
        sentence_start = bool(_SENTENCE_END.search(token)) or not token
    if run:
        close()
    return found


@lru_cache(maxsize=8)
def _extractor(max_words: int, top: int) -> Any:
    import yake

    return yake.KeywordExtractor(lan="en", n=max_words, top=top, dedupLim=0.7)


def key_phrases(text: str, words: Sequence[Word], top: int, max_words: int) -> list[Phrase]:
    """Up to ``top`` key phrases of a segment (yake, no model), timed by their words;
    a phrase whose words cannot be found keeps the segment's first and last word times."""
    if top <= 0 or len(text.split()) < 2 or not words:
        return []
    tokens = [canonical(_token(w)) for w in words]
    out = []
    for phrase, _score in _extractor(max_words, top).extract_keywords(text):
        key = canonical(phrase).split()
        if not key or (len(key) == 1 and len(key[0]) < 4) or all(k.isdigit() for k in key):
            continue
        at = _find(tokens, key)
        first, last = (words[at], words[at + len(key) - 1]) if at >= 0 else (words[0], words[-1])
        out.append(Phrase(phrase, first.start_s, last.end_s))
    return out


def _find(tokens: list[str], key: list[str]) -> int:
    for i in range(len(tokens) - len(key) + 1):
        if tokens[i : i + len(key)] == key:
            return i
    return -1
