"""Listening again: the best speech moment decoded anew with the question's words.

Whisper base garbles names and uncommon words, so a sentence that answers the question
can hold none of its key terms and fall under the relevance floor: "The Harbour Femme to
Lymphom Island howling at half past six" for "At what time does the harbour ferry to
Lindholm Island now leave?" (60-minute haystack, seed 2). Deep Video Discovery inspects
a clip again once it knows what it looks for; this does the same for speech. When no
packed item is relevant, the best-ranked speech item is decoded again with the
question's key terms as whisper's hotwords, and a re-heard text that passes the floor
replaces the stored one in the pack (the store keeps what ingest heard). One decode costs
0.5-1.5 s on two cores (whisper's encoder reads 30 s however short the clip), paid only
by questions that would otherwise get "I don't know", so ``TOP`` is 1.

Hotwords bias the decoder, so a re-heard text must still pass the same floor as any
evidence, proper names included: on both 60-minute haystacks, none of the 24 questions
about things never in the video was lifted over it ("the ferry to Helsinki" stays
"...to Lind for my land..."), while the Lindholm ferry was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from graph.types import Word
from retrieval.pack import Packed
from retrieval.relevance import relevance
from retrieval.types import Operator, Plan, Source

TOP = 1  # speech items listened to again, best ranked first


@dataclass(frozen=True)
class Heard:
    text: str
    words: tuple[Word, ...]  # in the video's time


# (video id, start s, end s, hotwords) -> what is heard there, or None (no audio)
Listener = Callable[[int, float, float, str], Heard | None]


def _relevant(plan: Plan, packed: Packed, floor: float) -> bool:
    return any(
        relevance(plan, item.text) >= floor for item in packed.items if item.rank is not None
    )


def relisten(plan: Plan, packed: Packed, listen: Listener, floor: float) -> tuple[Packed, str]:
    """``packed`` with re-heard speech where that makes an item relevant, and a note
    saying what was re-heard ("" when nothing was)."""
    if plan.operator is not Operator.NONE or not plan.terms or _relevant(plan, packed, floor):
        return packed, ""
    speech = sorted(
        (i for i in packed.items if i.source is Source.SPEECH and i.rank is not None),
        key=lambda i: i.rank or 0,
    )
    hotwords = " ".join(plan.terms)
    for item in speech[:TOP]:
        heard = listen(item.video_id, item.start_s, item.end_s, hotwords)
        if heard is None or relevance(plan, heard.text) < floor:
            continue
        better = replace(item, text=heard.text, words=heard.words or item.words)
        items = tuple(better if i is item else i for i in packed.items)
        note = f"re-heard [E{item.id}] with the question's words: {item.text!r} -> {heard.text!r}"
        return replace(packed, items=items), note
    return packed, ""
