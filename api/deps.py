"""What every handler shares, built once per process at start-up: the settings, the
database, the models (through the retrieval service) and the metrics.

Handlers take it as a ``Services`` parameter; nothing here is built per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from api.metrics import Metrics
from graph.service import GraphService
from indexer.models import ModelRegistry
from retrieval.service import RetrievalService
from vidkg.db import Database
from vidkg.settings import Settings


@dataclass
class AppServices:
    settings: Settings
    db: Database
    registry: ModelRegistry
    graph: GraphService
    retrieval: RetrievalService
    metrics: Metrics


def services(request: Request) -> AppServices:
    return request.app.state.services


Services = Annotated[AppServices, Depends(services)]
