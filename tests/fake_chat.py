"""A local fake of the OpenAI-compatible chat API: it records every request and answers
with queued replies (JSON bodies, server-sent events, errors, delays)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = ""
    delay_s: float = 0.0
    events: tuple[str, ...] | None = None  # server-sent ``data:`` payloads


def ok(content: str) -> Reply:
    message = {"role": "assistant", "content": content}
    body = {
        "id": "c1",
        "object": "chat.completion",
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }
    return Reply(body=json.dumps(body))


def delta(content: str | None, role: str | None = None) -> str:
    d = {k: v for k, v in (("role", role), ("content", content)) if v is not None}
    return json.dumps(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": d, "finish_reason": None}],
        }
    )


@dataclass
class FakeChat:
    url: str = ""
    replies: deque[Reply] = field(default_factory=deque)
    requests: list[dict] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)


def _handler(fake: FakeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path != "/v1/chat/completions":
                self._send(Reply(404, '{"error": "not found"}'))
                return
            fake.requests.append(json.loads(raw))
            fake.headers.append(dict(self.headers))
            reply = fake.replies.popleft() if fake.replies else ok("I don't know")
            if reply.delay_s and fake.stop.wait(reply.delay_s):
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(reply)  # unless the client gave up (timeout)

        def _send(self, reply: Reply) -> None:
            if reply.events is None:
                data = reply.body.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()  # HTTP/1.0: the body ends when the connection closes
            self.wfile.write(b": keep-alive\n\n")
            for event in (*reply.events, "[DONE]"):
                self.wfile.write(f"data: {event}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.01)

    return Handler


@pytest.fixture
def fake() -> Iterator[FakeChat]:
    chat = FakeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(chat))
    server.daemon_threads = True
    server.handle_error = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    chat.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield chat
    chat.stop.set()
    server.shutdown()
    server.server_close()
