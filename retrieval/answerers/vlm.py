"""VLM answerer: a vision-language model over the OpenAI-compatible chat API.

The model sees the question, what the plan expects (answer type, options, an operator's
computed answer), the packed evidence lines with their ids and a few keyframes. It must
cite evidence as ``[E<n>]`` or say "I don't know"; ids that do not resolve to a packed
item are dropped, and a reply left without one is not an answer (a model that cites
nothing checkable is not trusted). Chat failures propagate: the service falls back to the
extractive answerer and notes why.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from retrieval.drafted import Drafted
from retrieval.pack import Packed, estimate_tokens
from retrieval.registry import Context, answerer
from retrieval.types import AnswerType, Plan

if TYPE_CHECKING:
    from retrieval.chat import Message

SYSTEM = (
    "You answer questions about videos from the evidence given: numbered lines of speech "
    "transcripts, on-screen text, captions and objects seen, each with its video and time, "
    "and some keyframe images.\n"
    "Rules:\n"
    "1. Use only the evidence. Cite every evidence line your answer rests on by its id in "
    "square brackets, like [E3].\n"
    "2. If the evidence does not answer the question, reply exactly: I don't know\n"
    "3. Answer as briefly as possible: the short span asked for (a name, a number with "
    "its unit, a day, a code, the words shown, a time window), then the ids. No explanation."
)

HINTS = {
    AnswerType.FACT: "a short span (a name, a number with its unit, a day, a code)",
    AnswerType.TEXT: "the words shown on screen, as written",
    AnswerType.SAID: "the sentence that is said, as said",
    AnswerType.TIME: "time windows as H:MM:SS-H:MM:SS",
    AnswerType.COUNT: "a number",
    AnswerType.LIST: "a comma-separated list",
    AnswerType.YESNO: "Yes or No, then the few words that show it",
    AnswerType.CHOICE: "one of the options, as written",
}

_CITE = re.compile(r"\[\s*E\d+(?:\s*[,;]\s*E?\d+)*\s*\]", re.I)
_IDK = re.compile(r"^\W*(?:i\s+(?:do\s+not|don['’]?t)\s+know|unknown)\b", re.I)


class VlmParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(default=0.0, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int | None = Field(
        default=None, ge=16, le=32768, description="Answer length cap (settings when unset)."
    )


def prompt(plan: Plan, packed: Packed, budget: int) -> str:
    """The user message's text: question, expected answer, computed answer, evidence."""
    lines = [
        f"Question: {plan.question}",
        f"Answer type: {plan.answer_type.value} ({HINTS.get(plan.answer_type, 'a short answer')})",
    ]
    if plan.options:
        lines.append("Options: " + " | ".join(plan.options))
    if (r := packed.resolved) is not None:
        lines.append(
            f"Computed answer: {r.text}"
            if r.text
            else f"Computed answer: none found ({r.note or 'no evidence'})"
        )
    lines += ["", "Evidence:", evidence(packed, budget) or "(none)"]
    return "\n".join(lines)


def evidence(packed: Packed, budget: int) -> str:
    """``packed.render()``; should a hand-made pack exceed ``budget`` tokens, the retrieved
    items (best rank first) are kept over context, and the lines stay chronological."""
    text = packed.render()
    if estimate_tokens(text) <= budget:
        return text
    keep: set[int] = set()
    used = sum(estimate_tokens(f"Computed: {c}") for c in packed.computed)
    for item in sorted(packed.items, key=lambda i: (i.rank is None, i.rank or 0, i.id)):
        cost = estimate_tokens(item.line())
        if used + cost <= budget:
            keep.add(item.id)
            used += cost
    lines = [*(f"Computed: {c}" for c in packed.computed)]
    lines += [i.line() for i in packed.items if i.id in keep]
    return "\n".join(lines)


def parse(reply: str, packed: Packed) -> Drafted:
    """The draft a reply makes: its text without markers, the ids that resolve."""
    cited = [int(n) for m in _CITE.findall(reply) for n in re.findall(r"\d+", m)]
    ids = tuple(dict.fromkeys(n for n in cited if packed.get(n) is not None))
    dropped = sorted({n for n in cited if n not in ids})
    text = _clean(_CITE.sub(" ", reply))
    note = f"dropped unresolvable ids {', '.join(f'E{n}' for n in dropped)}" if dropped else None
    if not text:
        return _fallback(packed, "the vlm replied with no answer text")
    if _IDK.match(text):
        return _fallback(packed, "the vlm does not know")
    if not ids:
        return _fallback(packed, note or "the vlm cited no evidence")
    return Drafted(text, ids, note)


def _clean(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r"\s+([.,;:!?)])", r"\1", text)
    return text.strip(" ,;:")


def _fallback(packed: Packed, why: str) -> Drafted:
    """No answer from the model: the operator's computed answer when there is one."""
    r = packed.resolved
    if r is not None and r.text is not None:
        return replace(r, note=f"{why}; computed answer used")
    return Drafted(None, (), why)


@answerer
class VlmAnswerer:
    name: ClassVar[str] = "vlm"
    description: ClassVar[str] = (
        "A vision-language model over the OpenAI-compatible chat API reads the packed "
        "evidence and keyframes and answers briefly, citing evidence ids; unresolvable "
        "ids are dropped and an answer without evidence is 'I don't know'."
    )
    Params: ClassVar[type[BaseModel]] = VlmParams

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def unavailable(self) -> str | None:
        if not self.ctx.settings.vlm.base_url:
            return "no VLM endpoint configured (VIDKG_RETRIEVAL__VLM__BASE_URL)"
        return None

    def messages(self, plan: Plan, packed: Packed) -> list[Message]:
        from retrieval.chat import Message

        s = self.ctx.settings
        images = [p for p in packed.keyframes if Path(p).is_file()][: s.vlm_images]
        return [
            Message("system", SYSTEM),
            Message("user", prompt(plan, packed, s.pack_tokens), tuple(images)),
        ]

    def answer(self, plan: Plan, packed: Packed, params: BaseModel) -> Drafted:
        from retrieval.chat import ChatClient

        assert isinstance(params, VlmParams)
        client = ChatClient(self.ctx.settings.vlm)
        reply = client.complete(
            self.messages(plan, packed),
            max_tokens=params.max_tokens,
            temperature=params.temperature,
        )
        return parse(reply, packed)
