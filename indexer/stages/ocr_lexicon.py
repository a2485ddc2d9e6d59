"""OCR misreads put right against a lexicon, only where the fix is a known OCR confusion.

easyocr reads a sign's edge beside a word as a letter ("Private Hirel" for "Private
Hire" on the haystacks' green sign) and mixes up glyphs of the same shape ("NQTICE",
"TIHES"). A word that is not in the lexicon is replaced when exactly one lexicon word is
one *confusion* away: a stroke (l, I, 1, |, !) dropped at either end, or one letter
swapped for a look-alike (O/Q/0/D, I/l/1, h/b/n, v/y...). Any other edit is left alone,
so a word the lexicon lacks is not "corrected" into a neighbour ("Stationery" stays;
e to a is no OCR confusion) and names and codes ("Okafor", "KL1092") are kept as read.

The lexicon is a word list, one word a line; by default the WordPiece vocabulary of the
sentence model that vidkg already carries (about 20,000 whole English words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

STROKES = frozenset("li1|!")
LOOK_ALIKE = (
    ("o", "q"),
    ("o", "0"),
    ("o", "d"),
    ("o", "c"),
    ("i", "l"),
    ("i", "1"),
    ("l", "1"),
    ("i", "j"),
    ("h", "b"),
    ("h", "n"),
    ("h", "m"),
    ("n", "r"),
    ("e", "c"),
    ("u", "v"),
    ("s", "5"),
    ("b", "8"),
    ("g", "9"),
    ("z", "2"),
    ("t", "f"),
    ("a", "o"),
    ("v", "y"),
)
MIN_LETTERS = 4  # shorter words have too many neighbours to choose one
_WORD = re.compile(r"[A-Za-z0-9|!]+")


def _swaps() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for a, b in LOOK_ALIKE:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return {k: frozenset(v) for k, v in out.items()}


SWAPS = _swaps()


def load_lexicon(lines: Iterable[str]) -> frozenset[str]:
    """Whole lower-case words of at least ``MIN_LETTERS`` letters (WordPiece pieces and
    special tokens such as ``##ing`` and ``[CLS]`` are not words)."""
    return frozenset(
        w for w in (line.strip() for line in lines) if len(w) >= MIN_LETTERS and w.isalpha()
    )


def candidates(word: str) -> set[str]:
    """Lower-case spellings one OCR confusion away from ``word``."""
    low = word.lower()
    found = {low[1:]} if low[:1] in STROKES else set()
    if low[-1:] in STROKES:
        found.add(low[:-1])
    for i, ch in enumerate(low):
        found.update(low[:i] + alt + low[i + 1 :] for alt in SWAPS.get(ch, ()))
    return found


def _cased_like(word: str, model: str) -> str:
    if model.isupper():
        return word.upper()
    if model[:1].isupper():
        return word.capitalize()
    return word


def correct_word(word: str, lexicon: frozenset[str]) -> str:
    """``word``, or the one lexicon word a single OCR confusion away, cased like it."""
    letters = sum(c.isalpha() for c in word)
    if letters < MIN_LETTERS or word.lower() in lexicon:
        return word
    if not word.isalpha() and any(c.isdigit() for c in word[1:-1]):
        return word  # a code with digits inside ("KL1092", "RE16"): kept as read
    found = {c for c in candidates(word) if c in lexicon}
    return _cased_like(found.pop(), word) if len(found) == 1 else word


def correct(text: str, lexicon: frozenset[str]) -> str:
    """Every word of an OCR reading checked against the lexicon; the rest kept as is."""
    if not lexicon:
        return text
    return _WORD.sub(lambda m: correct_word(m.group(0), lexicon), text)
