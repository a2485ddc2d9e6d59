"""Text and time scoring against a bench truth: normalisation (digits spelled out, one
spelling, no punctuation), word error rate, window overlap. Shared by ``vidkg bench
ingest --truth`` and the content tests, so both measure alike."""

from __future__ import annotations

import re
from collections.abc import Mapping

from retrieval.text_rules import ONES, TENS

# British and American spellings are the same word to a listener.
_SPELLING = {
    "neighbourhood": "neighborhood",
    "favourite": "favorite",
    "colour": "color",
    "centre": "center",
    "metres": "meters",
    "metre": "meter",
}


def _number_words(n: int) -> str:
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = "" if n % 100 == 0 else " " + _number_words(n % 100)
        return ONES[n // 100] + " hundred" + rest
    if n < 10000:
        rest = "" if n % 1000 == 0 else " " + _number_words(n % 1000)
        return ONES[n // 1000] + " thousand" + rest
    return str(n)


def normalise(text: str) -> str:
    """Lower case, digits spelled out, no punctuation, no 'and', one spelling."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"\d+", lambda m: " " + _number_words(int(m.group())) + " ", text)
    words = re.sub(r"[^a-z0-9' ]+", " ", text).replace("'", "").split()
    return " ".join(_SPELLING.get(w, w) for w in words if w != "and")


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, after normalise()."""
    ref, hyp = normalise(reference).split(), normalise(hypothesis).split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            cur = min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
            prev, row[j] = row[j], cur
    return row[len(hyp)] / max(1, len(ref))


def overlaps(a: Mapping, b: Mapping, tolerance: float) -> bool:
    """Do two {start_s, end_s} windows overlap, with ``tolerance`` seconds of slack?"""
    return a["start_s"] - tolerance < b["end_s"] and b["start_s"] - tolerance < a["end_s"]
