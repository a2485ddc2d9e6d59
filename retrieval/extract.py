"""The shortest span of an evidence text that answers a question (no model).

An answer is what the evidence adds to the question: the words of the best sentence that
the question does not already hold ("novel runs"), picked by what the question asks for:
a number with its unit for "how many / how much / how far", a weekday for "which day", a
date, a time of day, a name, a code. "The spare turbine blades will arrive at dock seven
on Thursday." answers "On which day will the spare turbine blades arrive...?" with
"Thursday".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.text_rules import ONES, STOP, TENS, stem, tokens

NUMBER_WORDS = frozenset(
    [
        *ONES,
        *TENS[2:],
        *["hundred", "thousand", "million", "billion", "half", "quarter", "minus", "negative"],
        *[
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
        ],
    ]
)
WEEKDAYS = frozenset(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])
MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
TITLES = frozenset(
    ["dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "prof", "prof.", "doctor", "professor"]
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_DIGIT = re.compile(r"\d")
# What the question asks for -> a test on a candidate span's words.
_ASKS = (
    (re.compile(r"\bwhich day\b|\bwhat day\b", re.I), "weekday"),
    (re.compile(r"\bwhat date\b|\bwhich date\b|\bon what date\b", re.I), "date"),
    (re.compile(r"\bwhat time\b|\bwhen does\b.*\bleave|\bwhat hour\b", re.I), "clock"),
    (
        re.compile(
            r"\bhow (many|much|far|long|old|high|fast|big|heavy)\b|\bwhat "
            r"(temperature|price|speed|number|distance|amount)\b|\bwhich "
            r"(room|platform|gate|lot|flight|number|floor|bay)\b",
            re.I,
        ),
        "number",
    ),
    (re.compile(r"\bwho\b|\bwhose\b|\bname\b|\bcalled\b", re.I), "name"),
)


@dataclass(frozen=True)
class Span:
    text: str
    start: int  # token positions in the sentence
    end: int


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text.strip()) if s]


def asks_for(question: str) -> str | None:
    return next((kind for pattern, kind in _ASKS if pattern.search(question)), None)


def novel_runs(sentence: str, question: str) -> list[Span]:
    """Runs of words the question does not hold (stop words inside a run are kept)."""
    asked = {stem(t) for t in tokens(question)}
    words = sentence.split()
    novel = [stem(w) not in asked and stem(w) not in STOP and _clean(w) != "" for w in words]
    runs: list[Span] = []
    i = 0
    while i < len(words):
        if not novel[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(words) and (novel[j + 1] or _bridge(words, novel, j + 1)):
            j += 1
        runs.append(Span(" ".join(_clean(w) for w in words[i : j + 1]), i, j + 1))
        i = j + 1
    return runs


def _clean(word: str) -> str:
    return (
        word.strip(',;!?"()').rstrip(".") if not _DIGIT.search(word[-1:]) else word.strip(',;!?"()')
    )


def _bridge(words: Sequence[str], novel: Sequence[bool], k: int) -> bool:
    """A stop word joins two novel words ("three hundred AND twelve", "ninth OF October")."""
    return (
        k + 1 < len(words)
        and novel[k + 1]
        and stem(words[k]) in STOP
        and stem(words[k]) in {"and", "of", "past", "to", "the", "a", "at"}
    )


def _is(kind: str, span: Span) -> bool:
    low = [w.lower().strip(".,") for w in span.text.split()]
    if kind == "weekday":
        return any(w in WEEKDAYS for w in low)
    if kind == "date":
        return any(w in MONTHS for w in low)
    if kind in ("clock", "number"):
        return any(_DIGIT.search(w) or w in NUMBER_WORDS for w in low)
    if kind == "name":  # a title, or a Capitalised word (OCR's ALL CAPS says nothing)
        words = span.text.split()
        return any(w in TITLES for w in low) or any(
            w[:1].isupper() and w[1:].islower() for w in words
        )
    return False


def fits(question: str, text: str) -> bool:
    """Does the text hold a novel span of the kind the question asks for?"""
    kind = asks_for(question)
    if kind is None:
        return False
    return any(_is(kind, r) for s in sentences(text) or [text] for r in novel_runs(s, question))


def best_span(sentence: str, question: str, max_words: int = 8) -> str | None:
    """The run that answers, or None when the sentence adds nothing to the question or
    holds nothing of the kind it asks for."""
    runs = novel_runs(sentence, question)
    if not runs:
        return None
    kind = asks_for(question)
    fitting = [r for r in runs if kind and _is(kind, r)]
    if kind and not fitting:
        # Asked for a number and the sentence holds none (the ASR garbled it): the
        # sentence tells the analyst more than a wrong span would.
        return None
    chosen = fitting[0] if fitting else max(runs, key=lambda r: len(r.text.split()))
    words = chosen.text.split()
    if kind == "name":
        words = [w for w in words if w[:1].isupper()] or words
    return " ".join(words[:max_words])
