"""From one video's evidence to its graph: events, entities, mentions and relations.

A pure function (no database): ``graph.build`` reads the evidence, calls
:func:`draft_graph`, resolves entity keys against the library (``graph.linking``) and
writes the result in one transaction (``graph.store``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from itertools import combinations

from graph.events import EventGroup, describe, group_spans, home_of, sources
from graph.people import link_people
from graph.text import alnum_count, canonical, key_phrases, names_in, same_entity
from graph.types import (
    DetectionRow,
    EdgeEnd,
    EntityDraft,
    EntityKey,
    EntityKind,
    EventDraft,
    GraphDraft,
    MentionDraft,
    Predicate,
    RelationDraft,
    SourceKind,
    VideoEvidence,
)
from vidkg.graph_settings import GraphSettings

SPOKEN = (EntityKind.TERM, EntityKind.NAME)
MAX_CO_OCCURRING = 20  # entities per event paired by CO_OCCURS (at most 190 edges)
SIGHTING_MIN_MOMENTS = 2  # untracked sightings of a label in an event that make a mention
DURING_MIN_S = 0.25  # speech must overlap another event this long to be DURING it
Emit = Callable[[EntityKey, MentionDraft], None]


class _Keys:
    """Canonical forms of one kind within one video, fuzzy-merged onto the first seen."""

    def __init__(self, kind: EntityKind, cfg: GraphSettings, fuzzy: bool) -> None:
        self.kind, self.cfg, self.fuzzy = kind, cfg, fuzzy
        self.reps: list[str] = []
        self.alias: dict[str, str] = {}
        self.surface: dict[str, str] = {}  # first surface of each form

    def key(self, surface: str) -> EntityKey:
        c = canonical(surface)
        self.surface.setdefault(c, surface.strip())
        if c not in self.alias:
            self.alias[c] = self._closest(c) or c
            if self.alias[c] == c:
                self.reps.append(c)
        return EntityKey(self.kind, self.alias[c])

    def _closest(self, c: str) -> str | None:
        """The most similar form seen before, when one is similar enough."""
        if not self.fuzzy:
            return None
        ratio, chars = self.cfg.fuzzy_min_ratio, self.cfg.fuzzy_min_chars
        score, best = max(
            ((same_entity(c, r, ratio, chars), r) for r in self.reps), default=(0.0, None)
        )
        return best if score > 0 else None

    def aliases_of(self, rep: str) -> tuple[tuple[str, str], ...]:
        """(form, surface) of every form merged into ``rep``."""
        return tuple(
            sorted((a, self.surface[a]) for a, r in self.alias.items() if r == rep and a != rep)
        )


def draft_graph(ev: VideoEvidence, cfg: GraphSettings) -> GraphDraft:
    groups = group_spans(ev, cfg.max_event_s, cfg.min_text_chars)
    draft = GraphDraft(ev.video_id)
    keys = {
        EntityKind.TEXT: _Keys(EntityKind.TEXT, cfg, fuzzy=True),
        EntityKind.NAME: _Keys(EntityKind.NAME, cfg, fuzzy=True),
        EntityKind.TERM: _Keys(EntityKind.TERM, cfg, fuzzy=False),
    }
    surfaces: dict[EntityKey, Counter[str]] = {}

    def mention(key: EntityKey, m: MentionDraft) -> None:
        draft.mentions.append(m)
        surfaces.setdefault(key, Counter())[m.surface] += 1

    _text_mentions(ev, groups, cfg, keys[EntityKind.TEXT], mention)
    _spoken_mentions(ev, groups, cfg, keys, mention)
    _track_mentions(ev, groups, cfg, mention)
    _sighting_mentions(ev, groups, mention)
    for key, counter in surfaces.items():
        known = keys.get(key.kind)
        draft.entities[key] = EntityDraft(
            key=key,
            name=counter.most_common(1)[0][0],
            aliases=known.aliases_of(key.canonical) if known else (),
        )
    names_by_event: dict[int, list[str]] = {}
    for m in draft.mentions:
        if m.entity.kind == EntityKind.NAME:
            names_by_event.setdefault(m.event, []).append(m.surface)
    for i, g in enumerate(groups):
        title, description = describe(ev, g, names_by_event.get(i, []))
        draft.events.append(
            EventDraft(
                i,
                g.start_s,
                g.end_s,
                title,
                description,
                len(g.spans),
                g.spans[0].cut_before,
                sources(ev, g),
            )
        )
    draft.relations = _relations(ev, groups, draft)
    return draft


def _text_mentions(
    ev: VideoEvidence, groups: list[EventGroup], cfg: GraphSettings, keys: _Keys, mention: Emit
) -> None:
    for t in ev.texts:
        if alnum_count(t.text) < cfg.min_text_chars:
            continue
        key = keys.key(t.text)
        mention(
            key,
            MentionDraft(
                key,
                home_of(groups, t.start_s, t.end_s),
                t.start_s,
                t.end_s,
                SourceKind.TEXT,
                t.id,
                t.text.strip(),
                t.confidence,
            ),
        )


def _spoken_mentions(
    ev: VideoEvidence,
    groups: list[EventGroup],
    cfg: GraphSettings,
    keys: dict[EntityKind, _Keys],
    mention: Emit,
) -> None:
    for s in ev.speech:
        names = names_in(s.words)
        named = {w for p in names for w in canonical(p.surface).split()}
        found = [(EntityKind.NAME, p) for p in names]
        found += [  # a phrase inside a name is the name, not a term
            (EntityKind.TERM, p)
            for p in key_phrases(s.text, s.words, cfg.terms_per_segment, cfg.term_max_words)
            if not set(canonical(p.surface).split()) <= named
        ]
        for kind, p in found:
            key = keys[kind].key(p.surface)
            mention(
                key,
                MentionDraft(
                    key,
                    home_of(groups, p.start_s, p.end_s),
                    p.start_s,
                    p.end_s,
                    SourceKind.SPEECH,
                    s.id,
                    p.surface,
                    None,
                ),
            )


def _track_mentions(
    ev: VideoEvidence, groups: list[EventGroup], cfg: GraphSettings, mention: Emit
) -> None:
    people = link_people(
        [t for t in ev.tracks if t.label == "person"],
        cfg.person_link_similarity,
        cfg.person_link_min_detections,
    )
    for t in ev.tracks:
        home = home_of(groups, t.start_s, t.end_s)
        obj = EntityKey(EntityKind.OBJECT, canonical(t.label))
        mention(
            obj,
            MentionDraft(
                obj, home, t.start_s, t.end_s, SourceKind.TRACK, t.id, t.label, t.confidence
            ),
        )
        if t.id in people:  # numbered by content: stable across rebuilds and runs
            person = EntityKey(EntityKind.PERSON, f"v{ev.video_id} person {people[t.id]}")
            mention(
                person,
                MentionDraft(
                    person,
                    home,
                    t.start_s,
                    t.end_s,
                    SourceKind.TRACK,
                    t.id,
                    f"person {people[t.id]}",
                    t.confidence,
                ),
            )


def _sighting_mentions(ev: VideoEvidence, groups: list[EventGroup], mention: Emit) -> None:
    """Boxes the tracker never confirmed (fast motion at a sparse detection rate loses
    tracks): an event where a label was seen untracked at two moments or more gets one
    mention of that object, from the first sighting to the last. One flicker does not."""
    seen: dict[tuple[int, str], list[DetectionRow]] = {}
    for d in ev.untracked:
        seen.setdefault((home_of(groups, d.t_s, d.t_s), d.label), []).append(d)
    for (event, label), dets in seen.items():
        if len({d.t_s for d in dets}) < SIGHTING_MIN_MOMENTS:
            continue
        key = EntityKey(EntityKind.OBJECT, canonical(label))
        surface = f"{label}, {len(dets)} untracked sightings"
        mention(
            key,
            MentionDraft(
                key,
                event,
                dets[0].t_s,
                dets[-1].t_s,
                SourceKind.DETECTION,
                dets[0].id,
                surface,
                None,
            ),
        )


def _relations(
    ev: VideoEvidence, groups: list[EventGroup], draft: GraphDraft
) -> list[RelationDraft]:
    """NEXT along the events, MENTIONS/SHOWS per mention, CO_OCCURS per event, DURING."""
    nxt = [
        RelationDraft(
            Predicate.NEXT,
            EdgeEnd(event=i),
            EdgeEnd(event=i + 1),
            groups[i].end_s,
            groups[i + 1].start_s,
        )
        for i in range(len(groups) - 1)
    ]
    return nxt + _appearances(draft) + _co_occurs(groups, draft) + _during(ev, groups)


def _appearances(draft: GraphDraft) -> list[RelationDraft]:
    return [
        RelationDraft(
            Predicate.MENTIONS if m.entity.kind in SPOKEN else Predicate.SHOWS,
            EdgeEnd(event=m.event),
            EdgeEnd(entity=m.entity),
            m.start_s,
            m.end_s,
            m.confidence,
            m.source_kind,
            m.source_id,
        )
        for m in draft.mentions
    ]


def _co_occurs(groups: list[EventGroup], draft: GraphDraft) -> list[RelationDraft]:
    """Pairs of the (at most MAX_CO_OCCURRING most mentioned) entities of each event."""
    per_event: dict[int, Counter[EntityKey]] = {}
    for m in draft.mentions:
        per_event.setdefault(m.event, Counter())[m.entity] += 1
    out = []
    for event, counter in sorted(per_event.items()):
        top = sorted((k for k, _ in counter.most_common(MAX_CO_OCCURRING)), key=_order)
        g = groups[event]
        out += [
            RelationDraft(
                Predicate.CO_OCCURS, EdgeEnd(entity=a), EdgeEnd(entity=b), g.start_s, g.end_s
            )
            for a, b in combinations(top, 2)
        ]
    return out


def _during(ev: VideoEvidence, groups: list[EventGroup]) -> list[RelationDraft]:
    """From a speech segment's event to every other event the speech runs into."""
    out = []
    for s in ev.speech:
        home = home_of(groups, s.start_s, s.end_s)
        for j, g in enumerate(groups):
            a, b = max(s.start_s, g.start_s), min(s.end_s, g.end_s)
            if j != home and b - a >= DURING_MIN_S:
                out.append(
                    RelationDraft(
                        Predicate.DURING,
                        EdgeEnd(event=home),
                        EdgeEnd(event=j),
                        a,
                        b,
                        None,
                        SourceKind.SPEECH,
                        s.id,
                    )
                )
    return out


def _order(key: EntityKey) -> tuple[str, str]:
    return (key.kind.value, key.canonical)
