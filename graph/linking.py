"""Entity keys of one video resolved against the library's entities.

A key that exists (same kind and canonical form) is that entity. An on-screen text or a
name that does not exist is looked up fuzzily: ``pg_trgm`` finds candidates in the
trigram index, :func:`graph.text.same_entity` decides (digits must agree). A form merged
into another entity is kept as an *alias* entity (``attributes.alias_of``) with a
``SAME_AS`` edge to it, so a wrong merge can be undone by re-pointing mentions whose
surface normalises to the alias (see README "Knowledge graph").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from graph.text import same_entity
from graph.types import EntityDraft, EntityKey, EntityKind
from vidkg.graph_settings import GraphSettings

FUZZY_KINDS = (EntityKind.TEXT, EntityKind.NAME)

_EXACT = text(
    "SELECT canonical_name, id, (attributes->>'alias_of')::bigint FROM entities "
    "WHERE kind = :kind AND canonical_name = ANY(:names)"
)
_CANDIDATES = text(
    "SELECT id, canonical_name FROM entities "
    "WHERE kind = :kind AND canonical_name % :name AND NOT attributes ? 'alias_of' "
    "ORDER BY similarity(canonical_name, :name) DESC LIMIT 5"
)
_UPSERT = text(
    "INSERT INTO entities (kind, name, canonical_name, attributes) "
    "VALUES (:kind, :name, :canonical, CAST(:attributes AS jsonb)) "
    "ON CONFLICT (kind, canonical_name) DO UPDATE SET kind = EXCLUDED.kind RETURNING id"
)


@dataclass(frozen=True)
class Resolved:
    ids: dict[EntityKey, int]  # every draft key -> the entity its mentions point to
    aliases: list[tuple[int, int]]  # (alias entity id, entity id): SAME_AS edges


def resolve(session: Session, drafts: Iterable[EntityDraft], cfg: GraphSettings) -> Resolved:
    drafts = list(drafts)
    ids: dict[EntityKey, int] = {}
    aliases: list[tuple[int, int]] = []
    for kind in EntityKind:
        mine = [d for d in drafts if d.key.kind == kind]
        if not mine:
            continue
        forms = {d.key.canonical for d in mine} | {a for d in mine for a, _ in d.aliases}
        found = {
            name: (eid, alias_of)
            for name, eid, alias_of in session.execute(
                _EXACT, {"kind": kind.value, "names": sorted(forms)}
            )
        }
        for d in mine:
            target = _target(session, d, found, cfg)
            if target is None:
                target = _upsert(session, kind, d.name, d.key.canonical, None)
            elif d.key.canonical not in found:  # merged fuzzily: the form becomes an alias
                aliases.append((_upsert(session, kind, d.name, d.key.canonical, target), target))
            elif found[d.key.canonical][1] is not None:
                aliases.append((found[d.key.canonical][0], target))
            ids[d.key] = target
            for alias, surface in d.aliases:
                hit = found.get(alias)
                alias_id = hit[0] if hit else _upsert(session, kind, surface, alias, target)
                aliases.append((alias_id, target))
    return Resolved(ids, sorted(set(aliases)))


def _target(
    session: Session,
    d: EntityDraft,
    found: dict[str, tuple[int, int | None]],
    cfg: GraphSettings,
) -> int | None:
    """The stored entity a draft's mentions belong to, if any."""
    if d.key.canonical in found:
        eid, alias_of = found[d.key.canonical]
        return alias_of or eid
    if d.key.kind not in FUZZY_KINDS:
        return None
    best, best_score = None, 0.0
    params = {"kind": d.key.kind.value, "name": d.key.canonical}
    for eid, name in session.execute(_CANDIDATES, params):
        score = same_entity(d.key.canonical, name, cfg.fuzzy_min_ratio, cfg.fuzzy_min_chars)
        if score > best_score:
            best, best_score = eid, score
    return best


def _upsert(
    session: Session, kind: EntityKind, name: str, canonical: str, alias_of: int | None
) -> int:
    attributes = "{}" if alias_of is None else f'{{"alias_of": {int(alias_of)}}}'
    row = session.execute(
        _UPSERT,
        {"kind": kind.value, "name": name, "canonical": canonical, "attributes": attributes},
    )
    return int(row.scalar_one())
