"""An in-process ingest on several local processes, with no broker.

One Python process leaves cores idle: its video pass is one thread, stage after stage,
and the interpreter's own work between model calls runs on one core. On this project's
2-core machine the 60-minute haystack took 441 s in one process and 313 s on two local
processes (344 s on two Celery workers); on a 16-core GPU machine, 133 s in one process
and 41 s on sixteen Celery workers. ``VIDKG_INDEXER__PROCESSES=N`` gives ``vidkg
ingest`` and ``vidkg bench ingest`` that without Redis or RabbitMQ: this process claims
the job's ready units, as a broker's sender does, and N spawned children run them with
the workers' own code (:meth:`indexer.worker.WorkerContext.run_here`), each with its own
models and ``cores / N`` threads. Job state stays in PostgreSQL, so a run killed
half-way resumes like any other; units it left pending are taken back by the next
in-process run.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from indexer.jobs import ACTIVE
from indexer.plan import IngestReport, Progress, Unit

if TYPE_CHECKING:
    from indexer.pipeline import Pipeline
    from indexer.worker import WorkerContext
    from vidkg.settings import Settings

_CONTEXT: WorkerContext | None = None  # the child's worker context, made by _start


@dataclass(frozen=True)
class UnitDone:
    """What a child sends back for one unit: its report, the progress it made (stage,
    seconds of timeline), and how long that child has spent loading models so far."""

    report: IngestReport | None
    progress: list[tuple[str, float]] = field(default_factory=list)
    load_s: float = 0.0


def child_threads(settings: Settings, processes: int) -> int:
    """Model threads per child: the setting, or the cores shared out."""
    return settings.indexer.threads or max(1, (os.cpu_count() or 1) // processes)


def _start(settings: Settings) -> None:
    """Child initializer: one worker context (database handle, models) for its life."""
    from indexer.worker import WorkerContext
    from vidkg.logs import configure_logging

    global _CONTEXT
    configure_logging(settings.log_level, settings.home)
    _CONTEXT = WorkerContext(settings)


def _run(job_id: int, kind: str, chunk: int) -> UnitDone:
    from indexer.jobs import JobNotFound

    assert _CONTEXT is not None, "the pool's initializer did not run"
    steps: list[tuple[str, float]] = []
    try:
        # resumed: this run is the job's only runner (as in one process), so a unit a
        # killed run left running is simply run again, without waiting out its heartbeat.
        report = _CONTEXT.run_here(
            job_id,
            Unit(chunk=chunk, kind=kind),
            lambda name, s: steps.append((name, s)),
            resumed=True,
        )
    except JobNotFound:  # deleted with its video meanwhile: nothing more to run
        report = None
    return UnitDone(report, steps, _CONTEXT.pipeline().load_s)


def run_job_on_processes(
    pipeline: Pipeline, job_id: int, report: IngestReport, progress: Progress | None
) -> float:
    """Run every unit of the job on ``pipeline.cfg.processes`` children; merge what
    they report into ``report``. Returns the longest model loading of any child."""
    processes = pipeline.cfg.processes
    indexer = pipeline.cfg.model_copy(
        update={"threads": child_threads(pipeline.settings, processes)}
    )
    settings = pipeline.settings.model_copy(update={"indexer": indexer})
    jobs = pipeline.jobs
    running: dict[Future[UnitDone], Unit] = {}
    load_s = 0.0
    spawn = multiprocessing.get_context("spawn")  # no fork of a process holding threads
    with ProcessPoolExecutor(
        processes, mp_context=spawn, initializer=_start, initargs=(settings,)
    ) as pool:
        # Units a dead earlier run left pending are this run's to redo, once, at the start;
        # afterwards pending means sent to a child here.
        adopt = True
        while True:
            for unit in jobs.claim(job_id, adopt_in_flight=adopt):
                running[pool.submit(_run, job_id, unit.kind, unit.chunk)] = unit
            adopt = False
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                got = future.result()  # a child that died raises BrokenProcessPool
                merge(report, got.report)
                load_s = max(load_s, got.load_s)
                for name, seconds in got.progress if progress else ():
                    progress(name, seconds)
    if jobs.get(job_id).status in ACTIVE:  # a unit came back unfinished: say so, never hang
        raise RuntimeError(f"job {job_id}: units ran on local processes but did not finish")
    return load_s


def merge(total: IngestReport, part: IngestReport | None) -> None:
    """Add one unit's report to the job's: seconds and rows add up across children."""
    if part is None:
        return
    total.decode_s += part.decode_s
    total.graph_s += part.graph_s
    total.graph.update(part.graph)
    total.failures.extend(part.failures)
    for name, got in part.stages.items():
        mine = total.stages.get(name)
        if mine is None:
            total.stages[name] = got
            continue
        mine.seconds += got.seconds
        mine.rows += got.rows
        mine.chunks_done += got.chunks_done
        mine.skipped_reason = mine.skipped_reason or got.skipped_reason
