"""Weighted reciprocal rank fusion, and merging hits of one moment.

Scores of different legs (cover density, cosine, trigram similarity) are not comparable;
ranks are. A moment's fused score is the sum over legs of ``weight / (rrf_k + rank)``.
Hits of one video whose times overlap (or nearly touch) are one moment: it keeps the
best hit's text and source, the union of times, and every leg's best rank, so an analyst
sees which legs found it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from retrieval.types import Hit


def fuse(
    legs: Mapping[str, Sequence[Hit]],
    weights: Mapping[str, float],
    rrf_k: float,
    gap_s: float,
) -> list[Hit]:
    """Moments, best first. ``legs`` maps a leg name to its ranked hits."""
    scored: list[tuple[float, Hit]] = []
    for leg, hits in legs.items():
        w = weights.get(leg, 1.0)
        for rank, hit in enumerate(hits, start=1):
            scored.append((w / (rrf_k + rank), replace(hit, ranks={leg: rank})))
    scored.sort(key=lambda p: -p[0])
    moments: list[tuple[float, Hit]] = []
    for score, hit in scored:
        for i, (total, moment) in enumerate(moments):
            if _joins(moment, hit, gap_s):
                moments[i] = (total + _new_legs(moment, hit, score), _merge(moment, hit))
                break
        else:
            moments.append((score, hit))
    moments.sort(key=lambda p: (-p[0], p[1].video_id, p[1].start_s))
    return [replace(m, score=round(s, 6)) for s, m in moments]


MAX_MOMENT_S = 30.0  # merging never grows a moment past this (a citation stays short)


def _joins(moment: Hit, hit: Hit, gap_s: float) -> bool:
    """Overlapping hits of one video are one moment, unless the union would be long, or
    one is an object track: a person seen beside a sentence is not the sentence."""
    if not moment.overlaps(hit, gap_s):
        return False
    if (moment.source.value == "object") != (hit.source.value == "object"):
        return False
    return max(moment.end_s, hit.end_s) - min(moment.start_s, hit.start_s) <= MAX_MOMENT_S


def _new_legs(moment: Hit, hit: Hit, score: float) -> float:
    """A leg counts once per moment (its best rank), or one leg would outvote the rest."""
    return 0.0 if set(hit.ranks) <= set(moment.ranks) else score


def _merge(moment: Hit, hit: Hit) -> Hit:
    """Ranks and rows join the moment; its times grow only with a hit that covers the
    same thing (overlapping at least half of the shorter one), so a neighbour that merely
    touches it does not move where the analyst is sent."""
    ranks = dict(moment.ranks)
    for leg, rank in hit.ranks.items():
        ranks[leg] = min(rank, ranks.get(leg, rank))
    refs = (
        moment.refs if hit.ref == moment.ref or hit.ref in moment.refs else (*moment.refs, hit.ref)
    )
    shared = min(moment.end_s, hit.end_s) - max(moment.start_s, hit.start_s)
    shorter = min(moment.end_s - moment.start_s, hit.end_s - hit.start_s)
    if shared < 0.5 * max(shorter, 0.0):
        return replace(moment, ranks=ranks, refs=refs)
    return replace(
        moment,
        start_s=min(moment.start_s, hit.start_s),
        end_s=max(moment.end_s, hit.end_s),
        ranks=ranks,
        refs=refs,
    )
