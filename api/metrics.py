"""Prometheus metrics at ``/metrics``: request latency by route, search and ask latency,
and jobs and work units by state (read from PostgreSQL at scrape time, so every process
and worker is counted, not only this one).

Each app has its own registry: two apps in one process (tests) never collide.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class StateCollector(Collector):
    """Jobs by status and work units (checkpoints) by stage and status."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("vidkg_jobs", "Ingest jobs by status.", labels=["status"])
        units = GaugeMetricFamily(
            "vidkg_units",
            "Work units (stage x chunk) by stage and status.",
            labels=["stage", "status"],
        )
        with self.sessions() as s:
            for status, n in s.execute(
                text("SELECT status, count(*) FROM ingest_jobs GROUP BY status")
            ):
                jobs.add_metric([status], n)
            for stage, status, n in s.execute(
                text(
                    "SELECT stage, status, count(*) FROM ingest_checkpoints GROUP BY stage, status"
                )
            ):
                units.add_metric([stage, status], n)
        yield jobs
        yield units


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "vidkg_http_request_seconds",
            "HTTP request latency by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=BUCKETS,
        )
        self.retrieval = Histogram(
            "vidkg_retrieval_seconds",
            "Search and ask latency inside the service (without HTTP).",
            ["operation"],
            registry=self.registry,
            buckets=BUCKETS,
        )

    def watch(self, sessions: sessionmaker[Session]) -> None:
        """Report jobs and units from this database (called once it is open)."""
        self.registry.register(StateCollector(sessions))


class MetricsMiddleware:
    """Times every request by its route template (``/v1/videos/{video_id}``, never the
    raw path, so ids do not explode the label set)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(template, scope["method"], str(status[0])).observe(
                time.perf_counter() - started
            )
