"""Temporal and counting operators: computed over stored times, never guessed.

- after / before: resolve the anchor (a sign, a phrase) first, then take the speech that
  starts right after it (or ends right before it) in the same video.
- while: resolve the speech about a topic, then the on-screen text overlapping it.
- which first: resolve both options, compare their start times.
- count / all times: separate appearances of the people or objects named: runs of
  sampled frames showing them (a cut or a gap ends one), from SQL over detections.

Each returns a :class:`Resolved`: the computed answer, the evidence it rests on, and the
steps taken, which the answerers and the plan show.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from retrieval.extract import sentences
from retrieval.pack import EvidenceItem, read_window
from retrieval.planner import phrases, quoted
from retrieval.retrievers.objects import labels_named
from retrieval.text_rules import content_words, coverage, fmt_tc
from retrieval.types import EvidenceRef, Hit, Plan, Query, Scope, Source

Search = Callable[[Query, int], list[Hit]]

_NEXT_SPEECH = text(
    "SELECT id FROM speech_segments WHERE video_id = :v AND start_s >= :t - 0.5"
    " ORDER BY start_s LIMIT 1"
)
_PREV_SPEECH = text(
    "SELECT id FROM speech_segments WHERE video_id = :v AND end_s <= :t + 0.5"
    " ORDER BY end_s DESC LIMIT 1"
)
_PEOPLE_FRAMES = text(
    "SELECT d.video_id, d.t_s, count(*), min(d.id) FROM detections d"
    " WHERE d.label = ANY(:labels) AND d.box_y2 - d.box_y1 <= :max_height"
    " AND (cardinality(CAST(:videos AS bigint[])) = 0"
    "      OR d.video_id = ANY(CAST(:videos AS bigint[])))"
    " GROUP BY d.video_id, d.t_s HAVING count(*) >= :min_count ORDER BY d.video_id, d.t_s"
)
_CUTS = text("SELECT start_s FROM scenes WHERE video_id = :v AND cut_before ORDER BY start_s")
_LABELS = text("SELECT DISTINCT label FROM tracks")


@dataclass(frozen=True)
class Resolved:
    """An operator's result: the answer (None: could not be computed), its evidence."""

    text: str | None
    evidence: tuple[EvidenceItem, ...]
    steps: tuple[str, ...]
    moments: tuple[Hit, ...] = ()


def _anchor_query(anchor: str, scope: Scope, sources: frozenset[Source]) -> Query:
    q = quoted(anchor) or [anchor]
    return Query(
        q[0],
        Scope(scope.videos, scope.start_s, scope.end_s, sources),
        tuple(content_words(q[0])),
        phrases(anchor) or (q[0],),
    )


def resolve_anchor(
    search: Search, anchor: str, scope: Scope, sources: frozenset[Source], floor: float
) -> Hit | None:
    """The best moment for an anchor whose text covers enough of the anchor's words."""
    query = _anchor_query(anchor, scope, sources)
    terms = list(query.terms) or content_words(anchor)
    for hit in search(query, 10):
        if coverage(terms, hit.text) >= floor:
            return hit
    return None


def after(s: Session, search: Search, plan: Plan, floor: float) -> Resolved:
    anchor_text = plan.anchors[0]
    anchor = resolve_anchor(
        search,
        anchor_text,
        plan.scope,
        frozenset({Source.TEXT, Source.CAPTION, Source.SPEECH}),
        floor,
    )
    if anchor is None:
        return Resolved(None, (), (f"anchor {anchor_text!r} not found",))
    stmt, t = (
        (_NEXT_SPEECH, anchor.start_s)
        if plan.operator.value == "after"
        else (_PREV_SPEECH, anchor.start_s)
    )
    row = s.execute(stmt, {"v": anchor.video_id, "t": t}).scalar()
    window = read_window(s, anchor.video_id, anchor.start_s - 1, anchor.end_s + 1)
    anchor_items = _items_of(anchor, window)[:1]
    said = _speech_by_id(s, anchor.video_id, row) if row is not None else None
    steps = (f"anchor {anchor_text!r} at {fmt_tc(anchor.start_s)} ({anchor.source.value})",)
    if said is None:
        return Resolved(None, tuple(anchor_items), (*steps, "no speech there"))
    first = sentences(said.text)[0] if said.text else said.text
    return Resolved(
        first,
        (*anchor_items, said),
        (*steps, f"speech {plan.operator.value} it at {fmt_tc(said.start_s)}"),
    )


def _items_of(hit: Hit, window: list[EvidenceItem]) -> list[EvidenceItem]:
    """The window's items a (merged) moment was found in: its best row first."""
    refs = {hit.ref, *hit.refs}
    found = [i for i in window if i.ref in refs]
    return sorted(found, key=lambda i: (i.ref != hit.ref, i.source is not Source.TEXT))[:2]


_SPEECH_ROW = text("SELECT start_s, end_s FROM speech_segments WHERE id = :id")


def _speech_by_id(s: Session, video_id: int, row_id: int) -> EvidenceItem | None:
    a, b = s.execute(_SPEECH_ROW, {"id": row_id}).one()
    return next(
        (
            i
            for i in read_window(s, video_id, a, b)
            if i.ref.table == "speech_segments" and i.ref.id == row_id
        ),
        None,
    )


def during(s: Session, search: Search, plan: Plan, floor: float) -> Resolved:
    topic = plan.anchors[0]
    said = resolve_anchor(search, topic, plan.scope, frozenset({Source.SPEECH}), floor)
    if said is None:
        return Resolved(None, (), (f"no speech about {topic!r}",))
    window = read_window(s, said.video_id, said.start_s, said.end_s)
    texts = [i for i in window if i.source is Source.TEXT]

    def overlap(i: EvidenceItem) -> float:
        return min(i.end_s, said.end_s) - max(i.start_s, said.start_s)

    texts.sort(key=lambda i: -overlap(i))
    shown = list(dict.fromkeys(i.text for i in texts[:3]))
    speech = [i for i in _items_of(said, window) if i.source is Source.SPEECH][:1]
    steps = (
        f"speech about {topic!r} at {fmt_tc(said.start_s)}-{fmt_tc(said.end_s)}",
        f"{len(texts)} on-screen text(s) overlap it",
    )
    return Resolved(" / ".join(shown) if shown else None, (*speech, *texts[:3]), steps)


SHOWN = re.compile(r"\b(sign|text|caption|card|notice|banner|screen)\b", re.I)
SAID = re.compile(r"\b(statement|said|says|announcement|remark|mention)\b", re.I)


def _option_sources(option: str) -> frozenset[Source]:
    """A sign is looked for on screen, a statement in speech, anything else in both."""
    if SHOWN.search(option) and not SAID.search(option):
        return frozenset({Source.TEXT, Source.CAPTION})
    if SAID.search(option) and not SHOWN.search(option):
        return frozenset({Source.SPEECH})
    return frozenset({Source.SPEECH, Source.TEXT, Source.CAPTION})


def order(s: Session, search: Search, plan: Plan, floor: float) -> Resolved:
    found: list[tuple[str, Hit]] = []
    for option in plan.options:
        sources = _option_sources(option)
        anchor = option.split(" about ", 1)[-1] if " about " in option else option
        hit = resolve_anchor(search, anchor, plan.scope, sources, floor)
        if hit is None:
            return Resolved(None, (), (f"option {option!r} not found",))
        found.append((option, hit))
    found.sort(key=lambda p: (p[1].video_id, p[1].start_s))
    evidence = []
    for _, hit in found:
        evidence += _items_of(hit, read_window(s, hit.video_id, hit.start_s, hit.end_s))[:1]
    steps = tuple(f"{o!r} at {fmt_tc(h.start_s)}" for o, h in found)
    return Resolved(found[0][0], tuple(evidence), steps)


PLURAL = re.compile(r"\b(people|persons|pedestrians|crowds?|men|women|walkers|humans)\b", re.I)


@dataclass(frozen=True)
class AppearanceRule:
    """What counts as one appearance of what a question names."""

    min_count: int = 1  # detections in one sampled frame ("people": at least two)
    max_height: float = 1.0  # box height over frame height ("people walking": full figures)
    max_gap_s: float = 10.0  # within one shot, a longer gap starts a new appearance
    min_frames: int = 2  # sustained: one stray box is not an appearance


def rule_for(target: str) -> AppearanceRule:
    """People (plural) are several full-figure persons in one frame; close-ups filling the
    frame, which the detector also calls person on photos and cards, do not count."""
    if PLURAL.search(target):
        return AppearanceRule(min_count=2, max_height=0.5)
    return AppearanceRule()


def appearances(s: Session, plan: Plan) -> list[Hit]:
    """Separate appearances of the labels the target names: runs of sampled frames that
    show them, within one shot (a cut ends a run), at least ``min_frames`` long."""
    target = plan.target or plan.question
    known = {label for (label,) in s.execute(_LABELS)}
    labels = labels_named(target, known)
    rule = rule_for(target)
    rows = s.execute(
        _PEOPLE_FRAMES,
        {
            "labels": labels,
            "max_height": rule.max_height,
            "min_count": rule.min_count,
            "videos": list(plan.scope.videos),
        },
    ).all()
    cuts: dict[int, list[float]] = {}
    runs: list[list] = []  # [video, first t, last t, frames, most seen, a detection]
    for v, t, n, det in rows:
        if v not in cuts:
            cuts[v] = [c for (c,) in s.execute(_CUTS, {"v": v})]
        last = runs[-1] if runs else None
        if (
            last
            and last[0] == v
            and t - last[2] <= rule.max_gap_s
            and not any(last[2] < c <= t for c in cuts[v])
        ):
            last[2], last[3], last[4] = t, last[3] + 1, max(last[4], n)
        else:
            runs.append([v, t, t, 1, n, det])
    what = " and ".join(labels) or "nothing"
    return [
        Hit(
            v,
            a,
            b,
            Source.OBJECT,
            f"{what}: up to {most} in a frame",
            float(frames),
            EvidenceRef("detections", det),
        )
        for v, a, b, frames, most, det in runs
        if frames >= rule.min_frames
    ]
