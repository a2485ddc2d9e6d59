"""Person sightings linked into people by appearance.

Each person track carries a colour descriptor of its crops (``tracks.appearance``,
written by the detect stage: hue-saturation histograms of the upper and lower half of
the box, so clothing colours count and the background mostly does not). Tracks are
linked with complete linkage: a track joins a person only if it is similar enough to
*every* track already in it and overlaps none of them in time (one person is not in two
places at once), and only tracks of several boxes are linked. A wrong merge is worse
than a missed one, so anything uncertain (no descriptor, one glimpse, one borderline
match) stays a person of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from graph.types import TrackRow


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Histogram intersection of two L1-normalised descriptors (1: identical)."""
    halves = 2  # each half is normalised to 1, so the sum of minima is out of 2
    return float(np.minimum(a, b).sum() / halves)


def link_people(
    tracks: Sequence[TrackRow], threshold: float, min_detections: int = 2
) -> dict[int, int]:
    """Track id -> its person's number (1, 2, ... in the order of their first sightings,
    by content, so the same evidence numbers people the same in any run or rebuild).
    Tracks of fewer than ``min_detections`` boxes are never linked: one glimpse is too
    little to tell people apart (on the 60-minute haystack, one-box false "persons" on a
    yellow photo and a cartoon chained into one person)."""
    people: list[list[tuple[TrackRow, np.ndarray | None]]] = []
    for track in sorted(tracks, key=_order):
        solid = track.appearance and track.detections >= min_detections
        vec = np.asarray(track.appearance, np.float32) if solid else None
        best, best_score = None, threshold
        if vec is not None and threshold < 1.0:
            for person in people:
                if any(v is None or _overlaps(track, t) for t, v in person):
                    continue
                score = min(similarity(vec, v) for _, v in person if v is not None)
                if score >= best_score:
                    best, best_score = person, score
        if best is None:
            people.append([(track, vec)])
        else:
            best.append((track, vec))
    return {t.id: n for n, person in enumerate(people, start=1) for t, _ in person}


def _order(t: TrackRow) -> tuple:
    """Linking is greedy, so its order must not depend on row ids: workers writing
    chunks in another order number the same tracks differently (tracks that start on the
    same frame were linked differently by two workers and by one process)."""
    return (t.start_s, t.end_s, -t.detections, tuple(t.appearance or ()), t.label)


def _overlaps(a: TrackRow, b: TrackRow) -> bool:
    return a.start_s < b.end_s and b.start_s < a.end_s
