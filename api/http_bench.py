"""``vidkg bench http``: search and ask latency over HTTP, N concurrent clients.

The clients run in this process, the server in another (``vidkg serve`` started by the
command, or any server given by URL), so the numbers include HTTP, JSON, auth and the
server's thread pool under contention: what an analyst's tool sees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from retrieval.evaluate import percentile


@dataclass(frozen=True)
class Call:
    operation: str  # search or ask
    ms: float
    ok: bool


def _one(client: httpx.Client, operation: str, question: str) -> Call:
    t0 = time.perf_counter()
    try:
        if operation == "search":
            r = client.get("/v1/search", params={"q": question})
        else:
            r = client.post("/v1/ask", json={"question": question})
        ok = r.status_code == 200
    except httpx.HTTPError:
        ok = False
    return Call(operation, (time.perf_counter() - t0) * 1000, ok)


def load(
    base_url: str, key: str | None, questions: Sequence[str], clients: int, rounds: int
) -> list[Call]:
    """Every client asks every question ``rounds`` times as search and as ask, each
    client starting at its own offset so the server sees a mix."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    calls: list[Call] = []
    lock = threading.Lock()

    def client_loop(index: int) -> None:
        mine: list[Call] = []
        with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
            for r in range(rounds):
                for i in range(len(questions)):
                    q = questions[(i + index * 7 + r) % len(questions)]
                    mine.append(_one(client, "search", q))
                    mine.append(_one(client, "ask", q))
        with lock:
            calls.extend(mine)

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return calls


def summary(calls: Sequence[Call], wall_s: float) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for operation in ("search", "ask"):
        mine = [c for c in calls if c.operation == operation]
        ms = [c.ms for c in mine if c.ok] or [0.0]
        out[operation] = {
            "requests": len(mine),
            "errors": sum(not c.ok for c in mine),
            "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1),
            "max_ms": round(max(ms), 1),
            "per_s": round(len(mine) / wall_s, 2) if wall_s else 0.0,
        }
    return out
