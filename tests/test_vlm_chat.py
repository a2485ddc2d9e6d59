"""The chat client, the VLM answerer and the LLM planner against a real local HTTP server.

The fake server speaks ``/v1/chat/completions`` over a socket (no httpx mocking): each test
queues the replies it wants (a body, a status, a delay, server-sent events) and reads back
every request body the client sent. No database and no model.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from PIL import Image

from retrieval.answerers.vlm import VlmAnswerer, VlmParams, evidence
from retrieval.chat import ChatClient, ChatError, Message
from retrieval.drafted import Drafted
from retrieval.llm_planner import LlmPlan, plan_schema, plan_with_llm
from retrieval.pack import EvidenceItem, Packed, estimate_tokens
from retrieval.planner import plan_question
from retrieval.registry import ANSWERERS, Context, load_builtins
from retrieval.types import AnswerType, EvidenceRef, Operator, Plan, Scope, Source
from tests.fake_chat import FakeChat, Reply, delta, ok
from vidkg.retrieval_settings import ChatModelSettings, RetrievalSettings

# ---- evidence built by hand ------------------------------------------------------------

QUESTION = "What toll is shown on screen for the harbour?"


def item(
    n: int, start: float, end: float, source: Source, text: str, rank: int | None = None
) -> EvidenceItem:
    table = "speech_segments" if source is Source.SPEECH else "onscreen_text"
    return EvidenceItem(n, 1, start, end, source, text, EvidenceRef(table, 100 + n), rank=rank)


ITEMS = (
    item(
        1,
        720.0,
        724.5,
        Source.SPEECH,
        "Welcome back. Before the break we looked at the harbour budget for next year.",
    ),
    item(2, 723.0, 727.0, Source.TEXT, "HARBOUR TOLL: 4.20 EUR PER AXLE", rank=1),
    item(
        3,
        725.0,
        731.0,
        Source.SPEECH,
        "The new toll starts on Monday the third of March, the mayor said.",
        rank=2,
    ),
    item(4, 730.0, 734.0, Source.TEXT, "Ferry timetable - Pier 7"),
)


@pytest.fixture
def keyframe(tmp_path: Path) -> Path:
    path = tmp_path / "frame_000723.jpg"
    Image.new("RGB", (64, 36), (200, 40, 40)).save(path, "JPEG")
    return path


def packed_with(keyframe: Path, **kw: object) -> Packed:
    tokens = sum(estimate_tokens(i.text) for i in ITEMS)
    frames = (str(keyframe), str(keyframe.with_name("gone.jpg")))
    return Packed(ITEMS, tokens, frames, **kw)  # type: ignore[arg-type]


def vlm(url: str, **kw: object) -> VlmAnswerer:
    chat = ChatModelSettings(base_url=url, model="fake-vl", timeout_s=1, retries=1)
    settings = RetrievalSettings(vlm=chat, **kw)  # type: ignore[arg-type]
    return VlmAnswerer(Context(sessions=None, settings=settings, graph=None))  # type: ignore[arg-type]


def ask(fake: FakeChat, keyframe: Path, reply: Reply, **kw: object) -> Drafted:
    fake.queue(reply)
    return vlm(fake.url).answer(plan_question(QUESTION), packed_with(keyframe, **kw), VlmParams())


def user_text(request: dict) -> str:
    content = request["messages"][1]["content"]
    return content if isinstance(content, str) else content[0]["text"]


# ---- the VLM answerer --------------------------------------------------------------------


def test_registered_and_unavailable_without_endpoint() -> None:
    load_builtins()
    assert ANSWERERS["vlm"] is VlmAnswerer
    bare = VlmAnswerer(Context(sessions=None, settings=RetrievalSettings(), graph=None))  # type: ignore[arg-type]
    assert "VIDKG_RETRIEVAL__VLM__BASE_URL" in (bare.unavailable() or "")
    assert vlm("http://127.0.0.1:9/v1").unavailable() is None


def test_request_carries_question_evidence_and_keyframe(fake: FakeChat, keyframe: Path) -> None:
    ask(fake, keyframe, ok("4.20 EUR per axle [E2]"))
    (body,) = fake.requests
    assert body["model"] == "fake-vl" and body["stream"] is False
    system, user = body["messages"]
    assert system["role"] == "system"
    assert "[E3]" in system["content"] and "I don't know" in system["content"]
    text = user_text(body)
    assert QUESTION in text and "Answer type: text" in text
    lines = [ln for ln in text.splitlines() if ln.startswith("[E")]
    assert lines == [i.line() for i in ITEMS]  # every item, chronological
    assert [i.start_s for i in ITEMS] == sorted(i.start_s for i in ITEMS)
    assert "0:12:03-0:12:07 text: HARBOUR TOLL: 4.20 EUR PER AXLE" in text
    evidence_part = text.split("Evidence:\n", 1)[1]
    assert estimate_tokens(evidence_part) <= RetrievalSettings().pack_tokens
    images = [p for p in user["content"] if p["type"] == "image_url"]
    assert len(images) == 1  # the missing keyframe is skipped
    url = images[0]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == keyframe.read_bytes()


def test_evidence_is_cut_to_the_budget_keeping_retrieved_items(keyframe: Path) -> None:
    filler = tuple(item(n, 700.0 + n, 701.0 + n, Source.SPEECH, "word " * 60) for n in range(5, 9))
    packed = Packed(tuple(sorted(ITEMS + filler, key=lambda i: i.start_s)), 0)
    text = evidence(packed, 100)
    assert estimate_tokens(text) <= 100
    kept = [ln.split("]")[0] + "]" for ln in text.splitlines()]
    assert "[E2]" in kept and "[E3]" in kept  # the retrieved ones
    starts = [packed.get(int(k[2:-1])).start_s for k in kept]  # type: ignore[union-attr]
    assert starts == sorted(starts)
    assert evidence(packed_with(keyframe), 3000) == packed_with(keyframe).render()


def test_no_images_when_vlm_images_is_zero(fake: FakeChat, keyframe: Path) -> None:
    fake.queue(ok("4.20 EUR [E2]"))
    vlm(fake.url, vlm_images=0).answer(plan_question(QUESTION), packed_with(keyframe), VlmParams())
    assert isinstance(fake.requests[0]["messages"][1]["content"], str)


def test_good_reply_cites_and_loses_its_markers(fake: FakeChat, keyframe: Path) -> None:
    drafted = ask(fake, keyframe, ok("4.20 EUR per axle [E2]."))
    assert drafted == Drafted("4.20 EUR per axle.", (2,), None)
    both = ask(fake, keyframe, ok("Monday the third of March [E3, E1] [E99]"))
    assert both.text == "Monday the third of March" and both.evidence_ids == (3, 1)
    assert "E99" in (both.note or "")


def test_unresolvable_ids_are_not_an_answer(fake: FakeChat, keyframe: Path) -> None:
    drafted = ask(fake, keyframe, ok("5 EUR per axle [E99]"))
    assert drafted.text is None and drafted.evidence_ids == ()
    assert "E99" in (drafted.note or "")
    uncited = ask(fake, keyframe, ok("5 EUR per axle"))
    assert uncited.text is None and "no evidence" in (uncited.note or "")


def test_i_dont_know(fake: FakeChat, keyframe: Path) -> None:
    assert ask(fake, keyframe, ok("I don't know")).text is None
    assert ask(fake, keyframe, ok("I don’t know. [E1]")).text is None


def test_computed_answer_is_shown_and_is_the_fallback(fake: FakeChat, keyframe: Path) -> None:
    computed = Drafted("Monday the third of March", (3,))
    drafted = ask(
        fake,
        keyframe,
        ok("I don't know"),
        resolved=computed,
        computed=("after: anchor at 0:12:03, next speech at 0:12:05",),
    )
    assert drafted.text == "Monday the third of March" and drafted.evidence_ids == (3,)
    assert "computed answer used" in (drafted.note or "")
    text = user_text(fake.requests[0])
    assert "Computed answer: Monday the third of March" in text
    assert text.count("Computed: after: anchor at 0:12:03") == 1
    cited = ask(fake, keyframe, ok("Monday [E3]"), resolved=computed)
    assert cited == Drafted("Monday", (3,), None)


# ---- the chat client: failures and retries -----------------------------------------------


def client(fake: FakeChat, **kw: object) -> ChatClient:
    settings = ChatModelSettings(base_url=fake.url, timeout_s=1, retries=1, api_key="sk-test")  # type: ignore[arg-type]
    return ChatClient(settings, backoff_s=0.05, **kw)  # type: ignore[arg-type]


HELLO = [Message("user", "Say hello.")]


def test_bearer_key_and_response_format(fake: FakeChat) -> None:
    fake.queue(ok('{"a": 1}'))
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    assert client(fake).complete(HELLO, response_format=fmt) == '{"a": 1}'
    assert fake.headers[0]["Authorization"] == "Bearer sk-test"
    assert fake.requests[0]["response_format"] == fmt


def test_malformed_replies_raise(fake: FakeChat, keyframe: Path) -> None:
    fake.queue(Reply(body="{not json"))
    with pytest.raises(ChatError, match="malformed JSON"):
        vlm(fake.url).answer(plan_question(QUESTION), packed_with(keyframe), VlmParams())
    fake.queue(Reply(body='{"choices": []}'))
    with pytest.raises(ChatError, match=r"choices\[0\]"):
        client(fake).complete(HELLO)
    fake.queue(Reply(body='{"choices": [{"message": {"role": "assistant"}}]}'))
    with pytest.raises(ChatError, match="message.content"):
        client(fake).complete(HELLO)
    assert len(fake.requests) == 3  # none retried


def test_server_errors_are_retried(fake: FakeChat) -> None:
    fake.queue(Reply(500, "boom"), Reply(503, "busy"), ok("hello [E1]"))
    assert client(fake, retries=2).complete(HELLO) == "hello [E1]"
    assert len(fake.requests) == 3
    fake.queue(Reply(429, "slow down"), ok("again"))
    assert client(fake).complete(HELLO) == "again"


def test_permanent_failures_raise(fake: FakeChat, keyframe: Path) -> None:
    fake.queue(Reply(500, "boom"), Reply(500, "boom"))
    with pytest.raises(ChatError, match=r"HTTP 500 .*boom \(2 attempts\)"):
        vlm(fake.url).answer(plan_question(QUESTION), packed_with(keyframe), VlmParams())
    assert len(fake.requests) == 2  # settings.retries == 1
    fake.queue(Reply(400, '{"error": "bad model"}'))
    with pytest.raises(ChatError, match="HTTP 400"):
        client(fake).complete(HELLO)
    assert len(fake.requests) == 3  # a 4xx is not retried


def test_slow_server_times_out(fake: FakeChat, keyframe: Path) -> None:
    fake.queue(Reply(delay_s=5, body="{}"), Reply(delay_s=5, body="{}"))
    t0 = time.monotonic()
    with pytest.raises(ChatError, match="timeout after 1.0 s"):
        vlm(fake.url).answer(plan_question(QUESTION), packed_with(keyframe), VlmParams())
    assert time.monotonic() - t0 < 3.5  # two tries of 1 s and a short backoff
    assert len(fake.requests) == 2


def test_unreachable_server() -> None:
    with pytest.raises(ChatError, match="connection failed"):
        ChatClient(ChatModelSettings(base_url="http://127.0.0.1:9/v1", retries=0)).complete(HELLO)


# ---- streaming ---------------------------------------------------------------------------


def test_stream_yields_pieces_in_order(fake: FakeChat) -> None:
    pieces = ("The toll", " is 4.20 EUR", " per axle", " [E2]")
    events = (delta(None, role="assistant"), *(delta(p) for p in pieces))
    fake.queue(Reply(500, "warming up"), Reply(events=events))
    assert list(client(fake).stream(HELLO)) == list(pieces)
    assert fake.requests[-1]["stream"] is True and len(fake.requests) == 2


def test_stream_with_a_broken_event_raises(fake: FakeChat) -> None:
    fake.queue(Reply(events=(delta("fine"), "{oops")))
    got: list[str] = []
    with pytest.raises(ChatError, match="malformed stream event"):
        got.extend(client(fake).stream(HELLO))
    assert got == ["fine"]


# ---- the LLM planner ---------------------------------------------------------------------

AFTER_Q = 'What does the mayor say right after "HARBOUR TOLL" appears at 12:03?'


def llm_settings(fake: FakeChat, timeout_s: float = 0.5) -> RetrievalSettings:
    llm = ChatModelSettings(base_url=fake.url, model="fake-llm", timeout_s=1, retries=1)
    return RetrievalSettings(llm=llm, planner="llm", planner_timeout_s=timeout_s)


GOOD = {
    "answer_type": "said",
    "operator": "after",
    "terms": ["mayor", "say", "harbour", "toll"],
    "phrases": ["HARBOUR TOLL"],
    "anchors": ["HARBOUR TOLL"],
    "options": [],
    "target": None,
    "sources": ["speech", "text"],
}


def test_llm_plan_is_used(fake: FakeChat) -> None:
    fake.queue(ok(json.dumps(GOOD)))
    scope = Scope(videos=(1,))
    plan = plan_with_llm(AFTER_Q, scope, llm_settings(fake))
    rule = plan_question(AFTER_Q, scope)
    assert plan.planner == "llm" and plan.operator is Operator.AFTER
    assert plan.answer_type is AnswerType.SAID and plan.anchors == ("HARBOUR TOLL",)
    assert plan.sources == (Source.SPEECH, Source.TEXT) and plan.target is None
    assert plan.scope == rule.scope and plan.scope.start_s is not None  # "at 12:03"
    assert plan.question == rule.question
    fmt = fake.requests[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["schema"] == plan_schema()
    assert fake.requests[0]["model"] == "fake-llm"


def test_schema_and_model_agree() -> None:
    schema = plan_schema()
    assert set(schema["properties"]) == set(LlmPlan.model_fields)  # type: ignore[arg-type]
    assert schema["required"] == list(schema["properties"])  # type: ignore[call-overload]


def _fell_back(plan: Plan, why: str) -> None:
    rule = plan_question(AFTER_Q)
    assert plan.planner == "rules"
    assert plan.operator == rule.operator and plan.anchors == rule.anchors
    assert plan.notes[:-1] == rule.notes
    assert plan.notes[-1].startswith("llm planner failed (") and why in plan.notes[-1]
    assert plan.notes[-1].endswith("; rules used")


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (ok("the plan is: after the toll"), "malformed JSON"),
        (ok(json.dumps({**GOOD, "operator": "sideways"})), "invalid plan: operator"),
        (ok(json.dumps({**GOOD, "sources": ["smell"]})), "invalid plan: sources.0"),
        (ok(json.dumps({k: v for k, v in GOOD.items() if k != "sources"})), "sources"),
        (ok(json.dumps({**GOOD, "extra": 1})), "invalid plan: extra"),
        (ok(json.dumps({**GOOD, "anchors": []})), "after without an anchor"),
        (Reply(body="<html>gateway</html>"), "malformed JSON"),
        (Reply(404, "no such model"), "HTTP 404"),
    ],
)
def test_llm_planner_falls_back(fake: FakeChat, reply: Reply, why: str) -> None:
    fake.queue(reply)
    _fell_back(plan_with_llm(AFTER_Q, Scope(), llm_settings(fake)), why)


def test_llm_planner_timeout_falls_back(fake: FakeChat) -> None:
    fake.queue(Reply(delay_s=5, body=ok(json.dumps(GOOD)).body))
    t0 = time.monotonic()
    plan = plan_with_llm(AFTER_Q, Scope(), llm_settings(fake, timeout_s=0.5))
    assert time.monotonic() - t0 < 1.5  # the cap holds, no retry after it
    _fell_back(plan, "timeout after 0.5 s")
    assert len(fake.requests) == 1


def test_llm_planner_without_endpoint() -> None:
    plan = plan_with_llm(AFTER_Q, Scope(), RetrievalSettings(planner="llm"))
    assert plan.planner == "rules" and "llm planner unavailable" in plan.notes[-1]
