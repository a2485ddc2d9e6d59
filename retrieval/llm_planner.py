"""The LLM planner: a chat model fills the plan's fields, the rules stay the safety net.

Rules miss paraphrases ("what came up on the card once the narrator finished with the
budget?"); a model reads them. Its output is constrained by a JSON schema built from the
StrEnums of :mod:`retrieval.types` (sent as ``response_format``) and validated again here,
since not every server enforces the schema. Any failure (no endpoint, timeout, HTTP error,
malformed or invalid JSON, a plan its operator cannot run) returns the rule plan with a
note saying why; the scope (ids, times, sources allowed) always comes from the rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from retrieval.planner import plan_question
from retrieval.types import AnswerType, Operator, Plan, Scope, Source
from vidkg.retrieval_settings import RetrievalSettings

MAX_ITEMS = 12
MAX_CHARS = 200

SYSTEM = f"""You turn a question about a video library into a search plan, as JSON.
Fields:
- answer_type: fact (a short span: day, number with unit, name, code), text (words shown \
on screen), said (a sentence that is said), time (when), count, list, yes/no, choice.
- operator: none; after / before (what is said right after / before anchor 1); while \
(what is on screen while anchor 1 is talked about); order (which of anchors 1 and 2 comes \
first); count (separate appearances of target); all_times (every window where target \
appears).
- terms: the question's key words, no stop words.
- phrases: strings to match as written (quoted text, codes, names), else [].
- anchors: what an operator resolves first (after/before/while: 1, order: 2), else [].
- options: a choice question's options as written, else [].
- target: what count or all_times is about, else null.
- sources, most useful first: {", ".join(s.value for s in Source)}.
Lists hold at most {MAX_ITEMS} items. Reply with the JSON object only."""


def _strings(max_items: int = MAX_ITEMS) -> dict[str, object]:
    return {
        "type": "array",
        "items": {"type": "string", "maxLength": MAX_CHARS},
        "maxItems": max_items,
    }


def plan_schema() -> dict[str, object]:
    """The JSON schema the model must fill (strict: every field required, no others)."""
    props: dict[str, object] = {
        "answer_type": {"type": "string", "enum": [a.value for a in AnswerType]},
        "operator": {"type": "string", "enum": [o.value for o in Operator]},
        "terms": _strings(),
        "phrases": _strings(),
        "anchors": _strings(2),
        "options": _strings(),
        "target": {"type": ["string", "null"], "maxLength": MAX_CHARS},
        "sources": {
            "type": "array",
            "items": {"type": "string", "enum": [s.value for s in Source]},
            "minItems": 1,
            "maxItems": len(Source),
        },
    }
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


class LlmPlan(BaseModel):
    """The model's reply, validated (the schema again, for servers that ignore it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer_type: AnswerType
    operator: Operator
    terms: tuple[str, ...] = Field(max_length=MAX_ITEMS)
    phrases: tuple[str, ...] = Field(max_length=MAX_ITEMS)
    anchors: tuple[str, ...] = Field(max_length=2)
    options: tuple[str, ...] = Field(max_length=MAX_ITEMS)
    target: str | None = Field(max_length=MAX_CHARS)
    sources: tuple[Source, ...] = Field(min_length=1, max_length=len(Source))

    def problem(self) -> str | None:
        """Why the operators could not run this plan, or None."""
        if self.operator in (Operator.AFTER, Operator.BEFORE, Operator.WHILE) and not any(
            a.strip() for a in self.anchors
        ):
            return f"operator {self.operator.value} without an anchor"
        if self.operator is Operator.ORDER and len(self.options or self.anchors) < 2:
            return "operator order without two options"
        if self.answer_type is AnswerType.CHOICE and len(self.options) < 2:
            return "a choice without two options"
        return None


def _clean(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.strip() for s in items if s.strip()))


def to_plan(reply: LlmPlan, rule: Plan, model: str) -> Plan:
    """The plan the reply describes, on the rule plan's question and scope."""
    return replace(
        rule,
        answer_type=reply.answer_type,
        operator=reply.operator,
        terms=_clean(reply.terms) or rule.terms,
        phrases=_clean(reply.phrases),
        anchors=_clean(reply.anchors),
        options=_clean(reply.options)
        or (_clean(reply.anchors) if reply.operator is Operator.ORDER else ()),
        target=(reply.target or "").strip() or None,
        sources=tuple(dict.fromkeys(reply.sources)),
        planner="llm",
        steps=(),
        notes=(f"planned by the llm planner ({model}); scope from the rules",),
    )


def _parse(content: str) -> LlmPlan:
    body = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", content)  # a fenced reply
    reply = LlmPlan.model_validate(json.loads(body))
    if why := reply.problem():
        raise ValueError(why)
    return reply


def _why(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"malformed JSON: {exc.msg} at char {exc.pos}"
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "reply"
        return f"invalid plan: {where}: {err['msg']}"
    return str(exc) or type(exc).__name__


def plan_with_llm(question: str, scope: Scope, settings: RetrievalSettings) -> Plan:
    """The LLM's plan of a question, or the rule plan with a note why not. Never raises."""
    rule = plan_question(question, scope)
    llm = settings.llm
    if not llm.base_url:
        return _fallback(rule, "no VIDKG_RETRIEVAL__LLM__BASE_URL", "unavailable")
    try:
        from retrieval.chat import ChatClient, Message

        client = ChatClient(llm, retries=min(llm.retries, 1), deadline_s=settings.planner_timeout_s)
        content = client.complete(
            [Message("system", SYSTEM), Message("user", f"Question: {rule.question}")],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "vidkg_plan", "strict": True, "schema": plan_schema()},
            },
        )
        return to_plan(_parse(content), rule, llm.model)
    except Exception as exc:  # noqa: BLE001 - the rules answer whatever went wrong
        return _fallback(rule, _why(exc))


def _fallback(rule: Plan, why: str, what: str = "failed") -> Plan:
    return replace(rule, notes=(*rule.notes, f"llm planner {what} ({why}); rules used"))
