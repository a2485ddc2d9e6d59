"""Word-level helpers shared by the planner and the extractive answerer.

Small on purpose: tokens, a light stemmer for matching question words to evidence words,
stop words, and timecodes. No model and no corpus statistics, so a plan is explainable.
"""

from __future__ import annotations

import re

# Number words in order: ONES[n] for n < 20, TENS[n // 10] for 20 to 90.
ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "about",
        "into",
        "onto",
        "over",
        "under",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "than",
        "then",
        "so",
        "such",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "not",
        "no",
        "yes",
        "any",
        "some",
        "each",
        "every",
        "all",
        "very",
        "just",
        "right",
        "now",
        "also",
        "only",
        "our",
        "your",
        "their",
        "his",
        "her",
        "my",
        "me",
        "we",
        "you",
        "they",
        "he",
        "she",
        "i",
        "them",
        "us",
        "one",
        "ever",
    ]
)
# Words that say where or how to look, not what to look for.
CUES = frozenset(
    [
        "video",
        "videos",
        "shown",
        "show",
        "shows",
        "displayed",
        "display",
        "appear",
        "appears",
        "appeared",
        "seen",
        "see",
        "screen",
        "onscreen",
        "on-screen",
        "caption",
        "captions",
        "text",
        "written",
        "say",
        "says",
        "said",
        "saying",
        "spoken",
        "speak",
        "speaks",
        "speaker",
        "narrator",
        "voice",
        "mentioned",
        "mention",
        "mentions",
        "talk",
        "talks",
        "talking",
        "time",
        "times",
        "moment",
        "first",
        "last",
        "after",
        "before",
        "while",
        "during",
        "according",
        "message",
        "picture",
        "photo",
        "image",
        "footage",
        "clip",
        "name",
        "called",
        "number",
        "many",
        "much",
        "separate",
        "different",
    ]
)
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'.:-]*[A-Za-z0-9]|[A-Za-z0-9]")
_TC = re.compile(r"\b(?:(\d{1,2}):)?(\d{1,2}):(\d{2})(?:\.\d+)?\b")


def tokens(text: str) -> list[str]:
    return [t.lower().strip("'") for t in _TOKEN.findall(text)]


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match leave/leaves, burn/burns, moved/move."""
    w = word.lower().strip(".,;:!?\"'()")
    for suffix in ("ing", "ed", "es", "s"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            w = w[: -len(suffix)]
            break
    return w[:-1] if len(w) > 3 and w.endswith("e") else w


def coverage(terms: list[str], text: str) -> float:
    """The share of ``terms`` whose stem occurs among the text's stems (1.0: all)."""
    if not terms:
        return 0.0
    have = {stem(t) for t in tokens(text)}
    return sum(stem(t) in have for t in terms) / len(terms)


def content_words(text: str) -> list[str]:
    """Tokens that are neither stop words nor cue words, in order, without repeats."""
    seen: dict[str, None] = {}
    for t in tokens(text):
        if t not in STOP and t not in CUES and len(t) > 1 or t.isdigit():
            seen.setdefault(t, None)
    return list(seen)


def parse_timecode(text: str) -> float | None:
    """Seconds of the first ``[H:]MM:SS`` in the text, else None."""
    m = _TC.search(text)
    if not m:
        return None
    h, mm, ss = m.groups()
    return int(h or 0) * 3600 + int(mm) * 60 + int(ss)


def timecodes(text: str) -> list[float]:
    return [int(h or 0) * 3600 + int(m) * 60 + int(s) for h, m, s in _TC.findall(text)]


def fmt_tc(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
