"""docker-compose.yml cannot run here (no Docker engine), so check it agrees with the code:
services and images, every VIDKG_* variable a real setting, every command a real one."""

from __future__ import annotations

import re

import typer.main
import yaml
from sqlalchemy.engine import make_url

from api.cli import app
from tests.support import REPO
from vidkg.settings import Settings

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service].get("environment", {}).items()}


def _is_setting(name: str) -> bool:
    assert name.startswith("VIDKG_"), name
    top, _, nested = name.removeprefix("VIDKG_").lower().partition("__")
    field = Settings.model_fields.get(top)
    if field is None:
        return False
    return not nested or nested in field.annotation.model_fields


def test_services_and_images() -> None:
    assert set(SERVICES) == {
        "postgres",
        "redis",
        "migrate",
        "api",
        "worker",
        "worker-gpu",
        "flower",
    }
    assert SERVICES["postgres"]["image"].startswith("pgvector/pgvector:pg")
    assert SERVICES["redis"]["image"].startswith("redis:")
    # The broker keeps its queue over a restart (the tests restart one the same way).
    assert "--appendonly" in SERVICES["redis"]["command"]
    for name in ("migrate", "api", "worker", "worker-gpu"):
        assert SERVICES[name]["build"] == "."
    assert (REPO / "Dockerfile").exists()


def test_every_vidkg_variable_is_a_setting() -> None:
    services = ("migrate", "api", "worker", "worker-gpu")
    names = {n for s in services for n in _env(s) if n.startswith("VIDKG")}
    assert {"VIDKG_DATABASE_URL", "VIDKG_BROKER_URL", "VIDKG_HOME"} <= names
    assert [n for n in names if not _is_setting(n)] == []
    dockerfile_env = re.findall(r"ENV (VIDKG_\w+)=", (REPO / "Dockerfile").read_text())
    assert dockerfile_env and all(_is_setting(n) for n in dockerfile_env)


def test_urls_point_at_the_compose_services() -> None:
    env = _env("worker")
    db_url = env["VIDKG_DATABASE_URL"].replace("${VIDKG_DB_PASSWORD:?set VIDKG_DB_PASSWORD}", "x")
    url = make_url(db_url)
    postgres_env = SERVICES["postgres"]["environment"]
    assert (url.host, url.port, url.database, url.username) == (
        "postgres",
        5432,
        postgres_env["POSTGRES_DB"],
        postgres_env["POSTGRES_USER"],
    )
    assert env["VIDKG_BROKER_URL"].startswith("redis://redis:6379")
    # No secret in the file: the password only ever comes from the environment.
    assert "VIDKG_DB_PASSWORD" in postgres_env["POSTGRES_PASSWORD"]


def test_commands_exist_in_the_cli() -> None:
    root = typer.main.get_command(app)
    for name in ("migrate", "api", "worker", "worker-gpu"):
        argv = SERVICES[name]["command"]
        assert argv[0] == "vidkg"
        command = root
        for word in argv[1:]:
            if word.startswith("-"):
                break
            command = command.commands[word]  # KeyError: not a vidkg command
        options = {o for p in command.params for o in getattr(p, "opts", [])}
        assert {w for w in argv if w.startswith("--")} <= options, name


def test_api_port_and_worker_queues_agree() -> None:
    api_env = _env("api")
    port = api_env["VIDKG_API__PORT"]
    assert SERVICES["api"]["ports"] == [f"{port}:{port}"]
    assert api_env["VIDKG_API__HOST"] == "0.0.0.0"
    argv = SERVICES["worker"]["command"]
    queues = argv[argv.index("--queues") + 1].split(",")
    assert set(queues) == set(Settings().worker.queues)


def test_gpu_worker_takes_the_vision_queue_on_cuda() -> None:
    gpu = SERVICES["worker-gpu"]
    argv = gpu["command"]
    assert argv[argv.index("--queues") + 1] == "vision"
    assert _env("worker-gpu")["VIDKG_INDEXER__DEVICE"] == "cuda"
    assert Settings().worker.routes["visual"] == "vision"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
