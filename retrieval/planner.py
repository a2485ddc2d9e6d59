"""The rule planner: a question becomes a typed :class:`~retrieval.types.Plan`.

No model: patterns over the question's words decide the answer type, the operator
(after / before / while / which-first / how-many-times / at-what-times), the anchors to
resolve first, the phrases to match as written (quoted strings, codes), the key terms,
the sources worth searching and a time window ("at 12:30", "between 1:00 and 2:00").
Every decision is written into the plan's notes, so an analyst sees why.
"""

from __future__ import annotations

import re
from dataclasses import replace

from retrieval.retrievers.objects import SYNONYMS
from retrieval.text_rules import content_words, timecodes
from retrieval.types import EVERYWHERE, AnswerType, Operator, Plan, Scope, Source

_QUOTED = re.compile(r"[\"“”‘’]([^\"“”‘’]{2,80})[\"“”‘’]|(?<![A-Za-z])'([^']{2,80})'(?![A-Za-z])")
_CODE = re.compile(r"\b(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{1,}\b|\b[A-Z]{2,}\b")
_ORDER = re.compile(
    r"\bwhich (?:comes|came|happens|appears|is (?:shown|said) )?\s*first\b.*?:?\s*"
    r"(?P<a>.+?)\s+or\s+(?P<b>.+?)\??$",
    re.I,
)
_AFTER = re.compile(
    r"\b(?:right |just |immediately |directly )?(?P<op>after|before)\s+"
    r"(?P<anchor>.+?)(?:\s+(?:appears|is shown|is displayed|shows up|ends|"
    r"is said|is mentioned|disappears))?\s*\??$",
    re.I,
)
_WHILE = re.compile(
    r"\b(?:while|when|as)\s+(?:the\s+)?(?:narrator|speaker|voice|someone|"
    r"somebody|presenter|announcer)\s+(?:talks|speaks|is talking|is speaking|"
    r"mentions|says something|is saying something)\s+(?:about\s+)?"
    r"(?P<topic>.+?)\??$",
    re.I,
)
_COUNT = re.compile(r"\bhow many\s+(?:separate\s+|different\s+|distinct\s+)?times\b", re.I)
_TIMES = re.compile(r"^\s*(?:at what times?|when|during which|in which parts?)\b", re.I)
_TEXTUAL = re.compile(
    r"\b(on[- ]screen|caption|sign|written|displayed|notice|text|banner|"
    r"label|printed|reads?|message|card|screen)\b",
    re.I,
)
_SPOKEN = re.compile(
    r"\b(says?|said|spoken|narrator|voice|speaker|mention(?:s|ed)?|talks?|"
    r"announce[sd]?|called)\b",
    re.I,
)
_SAID = re.compile(
    r"^\s*what (?:is|was) (?:being )?said\b|\bwhat does (?:the )?(?:narrator|"
    r"speaker|voice) say\b",
    re.I,
)
_YESNO = re.compile(r"^\s*(?:is|are|was|were|does|do|did|has|have|can)\b", re.I)
_VISUAL = re.compile(
    r"\b(picture|photo|image|painting|drawing|footage|shown|look like|"
    r"appears?)\b",
    re.I,
)
_BETWEEN = re.compile(r"\bbetween\s+\S*\d:\d\d\S*\s+and\s+\S*\d:\d\d", re.I)


def quoted(question: str) -> list[str]:
    return [a or b for a, b in _QUOTED.findall(question)]


def phrases(question: str) -> tuple[str, ...]:
    """Strings to match as written: quoted ones, and codes (tokens with digits, CAPS)."""
    found = quoted(question)
    bare = _QUOTED.sub(" ", question)
    found += [c for c in _CODE.findall(bare) if c not in ("I", "A")]
    return tuple(dict.fromkeys(p.strip() for p in found if p.strip()))


def object_target(text: str) -> bool:
    words = set(re.findall(r"[a-z]+", text.lower()))
    return any(words & names for names in SYNONYMS.values())


def _scope(question: str, scope: Scope, notes: list[str]) -> Scope:
    tcs = timecodes(question)
    if not tcs or scope.start_s is not None or scope.end_s is not None:
        return scope
    if _BETWEEN.search(question) and len(tcs) >= 2:
        notes.append(f"time window {tcs[0]:.0f}-{tcs[1]:.0f} s from the question")
        return replace(scope, start_s=min(tcs[:2]), end_s=max(tcs[:2]))
    notes.append(f"around {tcs[0]:.0f} s from the question")
    return replace(scope, start_s=max(0.0, tcs[0] - 15), end_s=tcs[0] + 15)


def _sources(question: str, notes: list[str]) -> tuple[Source, ...]:
    textual, spoken = bool(_TEXTUAL.search(question)), bool(_SPOKEN.search(question))
    if textual and not spoken:
        notes.append("on-screen words: text first")
        return (Source.TEXT, Source.EVENT, Source.CAPTION, Source.SPEECH, Source.VISUAL)
    if spoken and not textual:
        notes.append("spoken words: speech first")
        return (Source.SPEECH, Source.EVENT, Source.TEXT, Source.CAPTION)
    return (Source.SPEECH, Source.TEXT, Source.EVENT, Source.CAPTION, Source.OBJECT, Source.VISUAL)


def plan_question(question: str, scope: Scope = EVERYWHERE) -> Plan:
    """The rule plan of a question (never raises; an empty question plans nothing)."""
    q = " ".join(question.split())[:2000]
    notes: list[str] = []
    scope = _scope(q, scope, notes)
    base = Plan(
        q,
        AnswerType.FACT,
        Operator.NONE,
        tuple(content_words(q)),
        phrases(q),
        _sources(q, notes),
        scope=scope,
    )
    plan = _operator(q, base) or _answer_type(q, base)
    return replace(plan, notes=(*notes, *plan.notes))


def _operator(q: str, base: Plan) -> Plan | None:
    if m := _ORDER.search(q):
        a, b = m.group("a").split(":")[-1].strip(" ?"), m.group("b").strip(" ?")
        return replace(
            base,
            answer_type=AnswerType.CHOICE,
            operator=Operator.ORDER,
            anchors=(a, b),
            options=(a, b),
            notes=("which-first: both options resolved, times compared",),
        )
    if m := _WHILE.search(q):
        topic = m.group("topic")
        return replace(
            base,
            answer_type=AnswerType.TEXT,
            operator=Operator.WHILE,
            anchors=(topic,),
            sources=(Source.SPEECH, Source.TEXT),
            notes=("while: the speech about the topic, then the on-screen text overlapping it",),
        )
    if _COUNT.search(q):
        target = _COUNT.split(q, 1)[-1]
        return replace(
            base,
            answer_type=AnswerType.COUNT,
            operator=Operator.COUNT,
            target=target.strip(" ?"),
            notes=("count of separate appearances",),
        )
    if (m := _AFTER.search(q)) and (_SAID.search(q) or _SPOKEN.search(q)):
        op = Operator.AFTER if m.group("op").lower() == "after" else Operator.BEFORE
        anchor = (quoted(m.group("anchor")) or [m.group("anchor")])[0]
        return replace(
            base,
            answer_type=AnswerType.SAID,
            operator=op,
            anchors=(anchor,),
            notes=(f"{op.value}: resolve the anchor, then the next speech",),
        )
    if _TIMES.search(q) and object_target(q) and not quoted(q):
        return replace(
            base,
            answer_type=AnswerType.TIME,
            operator=Operator.ALL_TIMES,
            target=q,
            sources=(Source.OBJECT,),
            notes=("every window where the people or objects named appear",),
        )
    return None


def _answer_type(q: str, base: Plan) -> Plan:
    if _TIMES.search(q) and (quoted(q) or _VISUAL.search(q) or _SPOKEN.search(q)):
        kind = AnswerType.TIME
    elif _SAID.search(q):
        kind = AnswerType.SAID
    elif _YESNO.search(q):
        kind = AnswerType.YESNO
    elif _TEXTUAL.search(q) and not _SPOKEN.search(q):
        kind = AnswerType.TEXT
    else:
        kind = AnswerType.FACT
    return replace(base, answer_type=kind)
