"""A small client of the OpenAI-compatible chat completions API (vLLM, Ollama, llama.cpp).

The VLM answerer and the LLM planner speak ``POST {base_url}/chat/completions`` and
nothing else, so a plain httpx client is enough and no vendor SDK is pinned. Transient
failures (connection errors, timeouts, 429, 5xx) are retried with a short exponential
backoff; everything that finally fails, including a reply that is not the JSON the API
promises, raises one :class:`ChatError`, so callers catch one thing and fall back.
Keyframes travel as base64 data URLs, read from disk when the request is built.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

import httpx

from vidkg.retrieval_settings import ChatModelSettings

BACKOFF_S = 0.25  # first retry's wait; doubles each time
_RETRY_STATUS = frozenset({408, 429})

JsonObject = dict[str, object]
T = TypeVar("T")


class ChatError(RuntimeError):
    """The chat endpoint failed for good (after retries) or replied malformed."""


class _Retryable(Exception):
    """A failure worth another try; becomes a ChatError when tries run out."""


@dataclass(frozen=True)
class Message:
    """One chat message; ``images`` are file paths sent as data URLs (missing ones skipped)."""

    role: Literal["system", "user", "assistant"]
    text: str
    images: tuple[str, ...] = ()

    def payload(self) -> JsonObject:
        parts = [p for p in map(image_part, self.images) if p is not None]
        if not parts:
            return {"role": self.role, "content": self.text}
        return {"role": self.role, "content": [{"type": "text", "text": self.text}, *parts]}


def image_part(path: str) -> JsonObject | None:
    """An ``image_url`` content part holding the file as a data URL, or None if unreadable."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    mime = mimetypes.guess_type(path)[0] or "image/jpeg"
    url = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
    return {"type": "image_url", "image_url": {"url": url}}


class ChatClient:
    """Calls one endpoint. ``deadline_s`` caps the whole call, retries and waits included."""

    def __init__(
        self,
        settings: ChatModelSettings,
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
        deadline_s: float | None = None,
        backoff_s: float = BACKOFF_S,
    ) -> None:
        if not settings.base_url:
            raise ChatError("no base_url configured")
        self.settings = settings
        self.url = settings.base_url.rstrip("/") + "/chat/completions"
        self.timeout_s = timeout_s or settings.timeout_s
        self.retries = settings.retries if retries is None else retries
        self.deadline_s = deadline_s
        self.backoff_s = backoff_s

    def complete(
        self,
        messages: Sequence[Message],
        *,
        response_format: Mapping[str, object] | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> str:
        """The reply's ``choices[0].message.content``."""
        body = self._body(messages, response_format, max_tokens, temperature, stream=False)
        with httpx.Client(headers=self._headers()) as client:
            return self._with_retries(lambda timeout: self._post(client, body, timeout))

    def stream(
        self,
        messages: Sequence[Message],
        *,
        response_format: Mapping[str, object] | None = None,
        max_tokens: int | None = None,
        temperature: float = 0.0,
    ) -> Iterator[str]:
        """The reply's text pieces as the server sends them (server-sent events).

        Retries happen only before the first piece; a failure mid-stream raises."""
        body = self._body(messages, response_format, max_tokens, temperature, stream=True)
        with httpx.Client(headers=self._headers()) as client:
            response = self._with_retries(lambda timeout: self._open(client, body, timeout))
            try:
                yield from _sse_pieces(response, self.timeout_s)
            finally:
                response.close()

    # ---- plumbing ----------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        key = self.settings.api_key
        return {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}

    def _body(
        self,
        messages: Sequence[Message],
        response_format: Mapping[str, object] | None,
        max_tokens: int | None,
        temperature: float,
        stream: bool,
    ) -> JsonObject:
        body: JsonObject = {
            "model": self.settings.model,
            "messages": [m.payload() for m in messages],
            "max_tokens": max_tokens or self.settings.max_tokens,
            "temperature": temperature,
            "stream": stream,
        }
        if response_format is not None:
            body["response_format"] = dict(response_format)
        return body

    def _with_retries(self, call: Callable[[float], T]) -> T:
        """``call(timeout)``, again after a short backoff while it fails transiently."""
        start = time.monotonic()
        attempt = 0
        while True:
            timeout = self._attempt_timeout(start)
            try:
                return call(timeout)
            except _Retryable as exc:
                wait = self.backoff_s * 2**attempt
                attempt += 1
                if attempt > self.retries or self._attempt_timeout(start, wait) <= 0:
                    tries = f" ({attempt} attempts)" if attempt > 1 else ""
                    raise ChatError(f"{exc}{tries}") from exc
                time.sleep(wait)

    def _attempt_timeout(self, start: float, wait: float = 0.0) -> float:
        if self.deadline_s is None:
            return self.timeout_s
        left = self.deadline_s - (time.monotonic() - start) - wait
        return min(self.timeout_s, left)

    def _send(
        self, client: httpx.Client, body: JsonObject, timeout: float, stream: bool
    ) -> httpx.Response:
        try:
            request = client.build_request("POST", self.url, json=body, timeout=timeout)
            response = client.send(request, stream=stream)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout after {timeout:.1f} s") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection failed: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            detail = _snippet(response.read() if stream else response.content)
            response.close()
            why = f"HTTP {response.status_code} from {self.url}: {detail}"
            if response.status_code >= 500 or response.status_code in _RETRY_STATUS:
                raise _Retryable(why)
            raise ChatError(why)
        return response

    def _post(self, client: httpx.Client, body: JsonObject, timeout: float) -> str:
        response = self._send(client, body, timeout, stream=False)
        try:
            reply = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            detail = _snippet(response.content)
            raise ChatError(f"malformed JSON from {self.url}: {detail}") from exc
        return _content(reply)

    def _open(self, client: httpx.Client, body: JsonObject, timeout: float) -> httpx.Response:
        return self._send(client, body, timeout, stream=True)


def _snippet(raw: bytes | str, limit: int = 200) -> str:
    text = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw).strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _first_choice(reply: object, key: str) -> object:
    """``reply["choices"][0][key]``, or a ChatError that says what was there instead."""
    if isinstance(reply, dict) and "error" in reply:
        raise ChatError(f"the server reported an error: {_snippet(json.dumps(reply['error']))}")
    try:
        return reply["choices"][0][key]  # type: ignore[index]
    except (KeyError, IndexError, TypeError) as exc:
        raise ChatError(f"no choices[0].{key} in the reply") from exc


def _text_of(content: object) -> str | None:
    """Content as text: a string, or a list of ``{"type": "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        texts = [p.get("text") for p in content if p.get("type") == "text"]
        if all(isinstance(t, str) for t in texts):
            return "".join(texts)  # type: ignore[arg-type]
    return None


def _content(reply: object) -> str:
    message = _first_choice(reply, "message")
    content = _text_of(message.get("content") if isinstance(message, dict) else None)
    if content is None:
        raise ChatError("no choices[0].message.content in the reply")
    return content


def _sse_pieces(response: httpx.Response, timeout_s: float) -> Iterator[str]:
    """Text of each ``data: {...}`` event until ``data: [DONE]``."""
    try:
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, ": keep-alive" comments, event names
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except json.JSONDecodeError as exc:
                raise ChatError(f"malformed stream event: {_snippet(data)}") from exc
            delta = _first_choice(event, "delta")
            piece = _text_of(delta.get("content") if isinstance(delta, dict) else None)
            if piece:
                yield piece
    except httpx.TimeoutException as exc:
        raise ChatError(f"stream stalled (timeout after {timeout_s:.1f} s)") from exc
    except httpx.TransportError as exc:
        raise ChatError(f"stream broken: {type(exc).__name__}: {exc}") from exc
