"""Events: scene spans, merged when consecutive spans of one shot show the same thing.

The scenes stage cuts long shots into spans of at most 30 s. Two consecutive spans
become one event when no cut lies between them (the second does not start a shot), they
touch, and they show the same on-screen texts and the same kinds of object; the merged
event stays under ``max_event_s``. Speech never splits an event: a sentence that runs
on is the same moment. Each evidence row belongs to the event it overlaps most (its
*home*), so every row is in exactly one event and word times stay reachable through it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from graph.text import alnum_count, canonical
from graph.types import SourceKind, SpanRow, VideoEvidence

_TOUCH_S = 0.5  # spans closer than this are consecutive


@dataclass
class EventGroup:
    """Spans of one event and the evidence rows whose home it is."""

    spans: list[SpanRow]
    speech: list[int] = field(default_factory=list)  # indexes into VideoEvidence.speech
    texts: list[int] = field(default_factory=list)
    tracks: list[int] = field(default_factory=list)
    captions: list[int] = field(default_factory=list)

    @property
    def start_s(self) -> float:
        return self.spans[0].start_s

    @property
    def end_s(self) -> float:
        return self.spans[-1].end_s


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def _touching(starts: list[float], spans: Sequence[SpanRow], a: float, b: float) -> range:
    """Indexes of the (sorted, disjoint) spans that [a, b] overlaps, or holds when a == b."""
    first = max(0, bisect_right(starts, a) - 1)
    while first < len(spans) and spans[first].end_s <= a and not (a == b == spans[first].start_s):
        first += 1
    last = bisect_left(starts, b) if b > a else bisect_right(starts, b)
    return range(first, max(first, last))


def _signatures(
    spans: Sequence[SpanRow], ev: VideoEvidence, min_chars: int
) -> list[tuple[frozenset[str], frozenset[str]]]:
    """Per span: the texts (normalised) and object labels it shows, in one pass."""
    starts = [s.start_s for s in spans]
    texts: list[set[str]] = [set() for _ in spans]
    labels: list[set[str]] = [set() for _ in spans]
    for t in ev.texts:
        if alnum_count(t.text) >= min_chars:
            for i in _touching(starts, spans, t.start_s, t.end_s):
                texts[i].add(canonical(t.text))
    for k in ev.tracks:
        for i in _touching(starts, spans, k.start_s, k.end_s):
            labels[i].add(k.label)
    return [(frozenset(t), frozenset(x)) for t, x in zip(texts, labels, strict=True)]


def _windows(ev: VideoEvidence) -> tuple[SpanRow, ...]:
    """Spans for a video without scenes (audio-only): the evidence rows' windows, with
    overlapping ones merged. Their id is 0: no scene row stands behind them."""
    rows = sorted((r.start_s, r.end_s) for r in (*ev.speech, *ev.texts, *ev.tracks))
    merged: list[list[float]] = []
    for a, b in rows:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple(SpanRow(0, a, b, True) for a, b in merged)


class Timeline(list[EventGroup]):
    """A video's events in time order (disjoint), with a fast :meth:`home`."""

    _starts: list[float] | None = None  # event starts, for bisection (events only grow)

    def home(self, start_s: float, end_s: float) -> int:
        """Index of the event a [start, end] window overlaps most (the earliest of equals;
        the nearest when it overlaps none)."""
        if not self:
            return 0
        b = max(end_s, start_s + 1e-6)
        if self._starts is None or len(self._starts) != len(self):
            self._starts = [g.start_s for g in self]
        hi = bisect_right(self._starts, b)
        candidates = [hi] if hi < len(self) else []
        i = hi - 1
        while i >= 0 and (self[i].end_s > start_s or len(candidates) < 2):
            candidates.append(i)
            i -= 1
        return max(
            candidates, key=lambda j: (_overlap(start_s, b, self[j].start_s, self[j].end_s), -j)
        )


def home_of(groups: Timeline, start_s: float, end_s: float) -> int:
    return groups.home(start_s, end_s)


def group_spans(ev: VideoEvidence, max_event_s: float, min_chars: int) -> Timeline:
    """Merge consecutive same-shot spans that show the same texts and objects."""
    groups = Timeline()
    last_sig = None
    spans = ev.spans or _windows(ev)
    for span, sig in zip(spans, _signatures(spans, ev, min_chars), strict=True):
        if groups:
            g = groups[-1]
            if (
                not span.cut_before
                and span.start_s - g.end_s < _TOUCH_S
                and sig == last_sig
                and span.end_s - g.start_s <= max_event_s
            ):
                g.spans.append(span)
                continue
        groups.append(EventGroup([span]))
        last_sig = sig
    _assign(ev, groups)
    return groups


def _assign(ev: VideoEvidence, groups: list[EventGroup]) -> None:
    if not groups:
        return
    for name, rows in (
        ("speech", ev.speech),
        ("texts", ev.texts),
        ("tracks", ev.tracks),
        ("captions", ev.captions),
    ):
        for i, row in enumerate(rows):
            getattr(groups[home_of(groups, row.start_s, row.end_s)], name).append(i)


def sources(ev: VideoEvidence, g: EventGroup) -> tuple[tuple[SourceKind, int], ...]:
    """The evidence rows an event was fused from, for ``event_sources``."""
    return (
        *((SourceKind.SCENE, s.id) for s in g.spans if s.id),
        *((SourceKind.SPEECH, ev.speech[i].id) for i in g.speech),
        *((SourceKind.TEXT, ev.texts[i].id) for i in g.texts),
        *((SourceKind.TRACK, ev.tracks[i].id) for i in g.tracks),
        *((SourceKind.CAPTION, ev.captions[i].id) for i in g.captions),
    )


def describe(ev: VideoEvidence, g: EventGroup, names: Sequence[str]) -> tuple[str, str]:
    """(title, description) fused from what was said, shown, seen and captioned."""
    said = " ".join(ev.speech[i].text.strip() for i in g.speech).strip()
    shown: list[str] = []
    for i in sorted(g.texts, key=lambda i: -(ev.texts[i].end_s - ev.texts[i].start_s)):
        t = ev.texts[i].text.strip()
        if t and t not in shown:
            shown.append(t)
    labels: dict[str, int] = {}
    for i in g.tracks:
        labels[ev.tracks[i].label] = labels.get(ev.tracks[i].label, 0) + 1
    seen = ", ".join(f"{label} ({n} track{'s' * (n > 1)})" for label, n in labels.items())
    # Composed captions ("evidence", indexer/stages/caption.py) only repeat the above.
    captions = [ev.captions[i].text for i in g.captions if ev.captions[i].captioner != "evidence"]
    parts = []
    if said:
        parts.append(f"Said: {said}")
    if shown:
        parts.append("Shown: " + "; ".join(f'"{t}"' for t in shown))
    if seen:
        parts.append(f"Seen: {seen}")
    if captions:
        parts.append("Caption: " + " ".join(captions))
    title = (
        (shown[0] if shown else None)
        or (names[0] if names else None)
        or (_first_words(said, 8) if said else None)
        or (f"{seen}" if seen else None)
        or f"scene at {_clock(g.start_s)}"
    )
    empty = f"Nothing read, said or detected from {_clock(g.start_s)}"
    return title[:200], ". ".join(p.rstrip(" .") for p in parts) + "." if parts else empty


def _first_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" ..." if len(words) > n else "")


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}"
