"""Extractive answerer (the default; no model).

It answers from the packed evidence with the shortest span that fits the question's
answer type: a span of the best sentence (:mod:`retrieval.extract`), the text shown on
screen, a time window, a count, one of the choices; an operator's computed result as it
is. It says it does not know (``text=None``) when no evidence item covers enough of the
question's key terms, and it never answers without the evidence ids it rests on.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from retrieval.drafted import Drafted
from retrieval.extract import best_span, fits, sentences
from retrieval.pack import EvidenceItem, Packed
from retrieval.registry import Plugin, answerer
from retrieval.relevance import relevance
from retrieval.text_rules import coverage, fmt_tc, stem, tokens
from retrieval.types import AnswerType, Plan, Source


class ExtractiveParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_words: int = Field(default=8, ge=1, le=200, description="Longest span answered.")


def screen_of(item: EvidenceItem, packed: Packed) -> list[EvidenceItem]:
    """The texts on screen together with ``item`` (a card's header and its line); a text
    read on one frame only has no duration, so the bounds are inclusive."""
    if item.source is not Source.TEXT:
        return []
    return [
        i
        for i in packed.items
        if i.source is Source.TEXT
        and i.video_id == item.video_id
        and i.start_s <= item.end_s
        and item.start_s <= i.end_s
    ]


def _score(plan: Plan, text: str) -> float:
    return coverage(list(plan.terms), text)


def best_item(plan: Plan, packed: Packed, sources: set[Source]) -> tuple[EvidenceItem, float]:
    """The retrieved item (or its screen) covering most key terms; then the source the
    plan prefers (speech unless the question asks about the screen), then rank."""
    best: tuple[float, bool, float, int, int, EvidenceItem] | None = None
    for item in packed.items:
        if item.rank is None or item.source not in sources:
            continue
        body = (
            " ".join(i.text for i in screen_of(item, packed))
            if (item.source is Source.TEXT)
            else item.text
        )
        order = plan.sources.index(item.source) if item.source in plan.sources else 99
        key = (
            relevance(plan, body),
            fits(plan.question, body),
            _score(plan, body),
            -order,
            -item.rank,
            item,
        )
        if best is None or key[:5] > best[:5]:
            best = key
    if best is None:
        raise LookupError
    return best[5], best[0]


def _best_sentence(plan: Plan, item: EvidenceItem) -> str:
    return max(sentences(item.text) or [item.text], key=lambda s: _score(plan, s))


def _text_answer(plan: Plan, item: EvidenceItem, packed: Packed, max_words: int) -> str:
    screen = screen_of(item, packed) or [item]
    body = " ".join(dict.fromkeys(i.text for i in screen))
    asked = {stem(t) for t in tokens(plan.question)}
    novel = [w for w in body.split() if stem(w) not in asked]
    return " ".join((novel or body.split())[:max_words])


def _fact(plan: Plan, item: EvidenceItem, packed: Packed, max_words: int) -> Drafted:
    if item.source is Source.TEXT:
        ids = tuple(i.id for i in screen_of(item, packed))
        return Drafted(_text_answer(plan, item, packed, max_words), ids)
    sentence = _best_sentence(plan, item)
    span = best_span(sentence, plan.question, max_words)
    after = _continued(item, packed) if span is None else None
    if after is not None and (span := best_span(sentences(after.text)[0], plan.question)):
        return Drafted(" ".join(span.split()[:max_words]), (item.id, after.id))
    return Drafted(span or sentence, (item.id,))


def _continued(item: EvidenceItem, packed: Packed) -> EvidenceItem | None:
    """The speech right after ``item`` (within 2 s): a sentence the ASR split at a pause
    ("...the east wing burns" / "forty litres of diesel every hour")."""
    return next(
        (
            i
            for i in packed.items
            if i.source is Source.SPEECH
            and i.video_id == item.video_id
            and 0 <= i.start_s - item.end_s <= 2.0
        ),
        None,
    )


def source_tiers(plan: Plan) -> list[set[Source]]:
    """Where an answer is looked for, in order: first-hand evidence (speech, text read),
    then derived descriptions (captions, events), which repeat it less precisely."""
    if plan.answer_type is AnswerType.TEXT:
        return [{Source.TEXT}, {Source.CAPTION}]
    first = {Source.SPEECH, Source.TEXT}
    if plan.answer_type is AnswerType.TIME:
        first |= {Source.OBJECT, Source.VISUAL}
    return [first, {Source.CAPTION, Source.EVENT}]


@answerer
class ExtractiveAnswerer(Plugin):
    name: ClassVar[str] = "extractive"
    description: ClassVar[str] = (
        "Answers with the shortest span of the evidence that fits the question (a day, a "
        "number with its unit, a name, a code, the text shown, a window, a count); no model."
    )
    Params: ClassVar[type[BaseModel]] = ExtractiveParams

    def _pick(self, plan: Plan, packed: Packed) -> EvidenceItem | str:
        """The best item of the first tier that has a relevant one, or why none is."""
        floor = self.ctx.settings.answer_min_score
        best = 0.0
        for sources in source_tiers(plan):
            try:
                item, _ = best_item(plan, packed, sources)
            except LookupError:
                continue
            body = " ".join(i.text for i in screen_of(item, packed)) or item.text
            score = relevance(plan, body)
            if score >= floor:
                return item
            best = max(best, score)
        return f"no evidence covers enough of the key terms (best {best:.0%})"

    def answer(self, plan: Plan, packed: Packed, params: BaseModel) -> Drafted:
        assert isinstance(params, ExtractiveParams)
        if packed.resolved is not None:
            return packed.resolved
        found = self._pick(plan, packed)
        if isinstance(found, str):
            return Drafted(None, (), found)
        item = found
        ids = tuple(i.id for i in screen_of(item, packed)) or (item.id,)
        if plan.answer_type is AnswerType.TIME:
            return Drafted(f"{fmt_tc(item.start_s)}-{fmt_tc(item.end_s)}", (item.id,))
        if plan.answer_type is AnswerType.SAID:
            return Drafted(_best_sentence(plan, item), (item.id,))
        if plan.answer_type is AnswerType.YESNO:
            return Drafted(f"Yes: {_best_sentence(plan, item)}", (item.id,))
        if plan.answer_type is AnswerType.TEXT:
            return Drafted(_text_answer(plan, item, packed, params.max_words), ids)
        return _fact(plan, item, packed, params.max_words)
