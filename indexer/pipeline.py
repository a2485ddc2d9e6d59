"""The ingest pipeline: plan chunks, run the stages of each chunk, write, finalize.

The timeline is cut into chunks of about ``chunk_s`` (at keyframes, so a chunk decodes
from its own start). A chunk is the unit of work and of resume: each (stage, chunk) has
a checkpoint, written in the same transaction as the stage's rows, so a re-run skips
what is done and redoes only what is missing. A job's work is cut into units (per
chunk: the picture stages, speech, then captions and embeddings; one finalize);
``indexer.jobs`` hands them out. Per chunk, video is decoded once: every
frame feeds the shot detector; sampled frames of the open span are held (at most
``max_span_s`` of them) and handed to the visual stages when the span closes. Celery
tasks call :meth:`Pipeline.run_unit` for one unit; in-process, :meth:`Pipeline.run_job`
calls it for each unit in turn.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from indexer.catalog import media_dir
from indexer.faults import is_transient, out_of_time
from indexer.finalize import finalize_job
from indexer.graph_step import build_graph
from indexer.jobs import Job, JobStore, worker_name
from indexer.media import read_audio
from indexer.memory import fix_mmap_threshold, release_free_memory
from indexer.models import ModelRegistry, ModelUnavailable
from indexer.plan import (
    DERIVED,
    FINALIZE,
    GRAPH,
    VISUAL,
    Chunk,
    IngestReport,
    Progress,
    StageReport,
    Unit,
)
from indexer.readback import chunk_evidence
from indexer.recovery import Heartbeat
from indexer.stages.base import ChunkAudio, StageSkipped
from indexer.stages.scenes import SceneStage
from indexer.store import EvidenceStore
from indexer.visual_pass import run_visual_pass
from indexer.watches import match_chunk
from vidkg.db import Database
from vidkg.schema import Video
from vidkg.settings import Settings

log = logging.getLogger(__name__)


class Pipeline:
    """Runs stages over chunks of one video at a time; models come from ``registry``."""

    def __init__(self, db: Database, settings: Settings, registry: ModelRegistry) -> None:
        self.db = db
        self.settings = settings
        self.cfg = settings.indexer
        self.registry = registry
        self.jobs = JobStore(db.sessions, settings.worker)
        self._stages: dict[str, Any] = {}
        self._before: dict[str, float] = {}  # stage seconds when the current chunk began
        self.load_s = 0.0  # seconds spent loading models (once per process)
        self._executor: ThreadPoolExecutor | None = None
        fix_mmap_threshold(self.cfg.mmap_threshold_bytes)

    # ---- stages ------------------------------------------------------------------

    def stage(self, name: str) -> Any:
        """The stage object (models loaded once, on first use); StageSkipped if it cannot run."""
        if name not in self._stages:
            t0 = time.perf_counter()
            try:
                self._stages[name] = self._build(name)
            except ModelUnavailable as exc:
                self._stages[name] = StageSkipped(str(exc))
            self.load_s += time.perf_counter() - t0
        found = self._stages[name]
        if isinstance(found, StageSkipped):
            # A new exception each time: raising the stored one again would chain every
            # raise's frames onto its traceback, keeping each chunk's locals (its decoded
            # frames and records) alive for the life of the process.
            raise StageSkipped(str(found))
        return found

    def _build(self, name: str) -> Any:
        cfg = self.cfg
        if name == "scenes":
            return SceneStage()
        if name == "asr":
            from indexer.stages.asr import SpeechStage

            return SpeechStage(self.registry, cfg.asr)
        if name == "ocr":
            from indexer.stages.ocr import TextStage

            return TextStage(self.registry, cfg.ocr)
        if name == "detect":
            from indexer.stages.detect import ObjectStage

            return ObjectStage(self.registry, cfg.detect)
        if name == "clip":
            from indexer.stages.clip import FrameEmbeddingStage

            return FrameEmbeddingStage(self.registry)
        if name == "caption":
            from indexer.stages.caption import CaptionStage

            return CaptionStage(cfg.caption)
        if name == "embed":
            from indexer.stages.embed import TextEmbeddingStage

            return TextEmbeddingStage(
                self.registry, self.settings.embeddings.text_dim, cfg.embed.batch_size
            )
        raise ValueError(name)

    # ---- a whole job ---------------------------------------------------------------

    def ingest(
        self, video_id: int, stages: list[str], progress: Progress | None = None
    ) -> IngestReport:
        """In-process ingest: submit the video's job (or take over its active one) and
        run every unit not yet done here, chunk by chunk, then finalize."""
        job, _ = self.jobs.submit(video_id, stages, self.cfg.chunk_s)
        return self.run_job(job.id, progress)

    def run_job(self, job_id: int, progress: Progress | None = None) -> IngestReport:
        """Run a job's units here: one at a time, in order, or on ``processes`` local
        children (``indexer.local_pool``). It is the only runner of the job, so units
        left in flight by a dead process are redone."""
        started = time.perf_counter()
        job = self.jobs.get(job_id)
        video = self._video(job.video_id)
        report = self._report(job, video)
        finished = self._evidence(video).finished()
        for chunk in job.chunks:
            for name in job.stages:
                if (name, chunk.index) in finished:
                    report.stages[name].chunks_skipped += 1
                    if progress:
                        progress(name, chunk.end_s - chunk.start_s)
        try:
            if self.cfg.processes > 1 and not multiprocessing.current_process().daemon:
                from indexer.local_pool import run_job_on_processes

                self.load_s = run_job_on_processes(self, job_id, report, progress)
            else:
                self._run_units_here(job_id, report, progress)
        except BaseException as exc:  # interrupted (Ctrl-C) or the database went away
            try:
                self.jobs.abandon(job_id, exc)
            except Exception:  # noqa: BLE001 - the database may be what failed
                log.warning("could not mark job %s as interrupted", job_id, exc_info=True)
            raise
        report.status = self.jobs.get(job_id).status
        report.wall_s = time.perf_counter() - started
        report.model_load_s = self.load_s
        return report

    def _run_units_here(self, job_id: int, report: IngestReport, progress: Progress | None) -> None:
        """Every unit of the job in this process, one at a time, in order."""
        ran: set[Unit] = set()
        while units := self.jobs.claim(job_id, limit=1, adopt_in_flight=True):
            if units[0] in ran:
                raise RuntimeError(f"{units[0]} of job {job_id} ran but did not finish")
            ran.add(units[0])
            self.run_unit(job_id, units[0], report, progress, resumed=True)

    def run_unit(
        self,
        job_id: int,
        unit: Unit,
        report: IngestReport | None = None,
        progress: Progress | None = None,
        *,
        resumed: bool = False,
    ) -> IngestReport | None:
        """Run one unit of a job (what a Celery task does). Idempotent: stages already
        done are not run again. ``None``: the job is over (cancelled), nothing ran.
        While it runs, a thread beats its heartbeat (``indexer.recovery``).
        ``resumed``: a retry of this process's own try that met a transient fault."""
        worker = worker_name()
        started = self.jobs.start(job_id, unit, worker, resumed=resumed)
        if started is None:
            return None
        job, todo = started
        video = self._video(job.video_id)
        report = report or self._report(job, video)
        if todo:
            every = self.settings.worker.heartbeat_s
            with Heartbeat(self.db.sessions, job.id, unit.chunk, todo, worker, every):
                self._run_started(job, video, unit, todo, report, progress)
            release_free_memory()  # what the unit freed goes back (indexer.memory)
        return report

    def _run_started(
        self,
        job: Job,
        video: Video,
        unit: Unit,
        todo: list[str],
        report: IngestReport,
        progress: Progress | None,
    ) -> None:
        store = self._evidence(video)
        if unit.kind == FINALIZE:
            finalize_job(self.db, self.jobs, job, video, store, report)
        elif unit.kind == GRAPH:
            build_graph(self, job, video, store, report)
        else:
            self.run_chunk(video, job.chunks[unit.chunk], todo, store, report, progress)
            match_chunk(self.db, self.settings, video.id, job.chunks[unit.chunk], todo)

    def _report(self, job: Job, video: Video) -> IngestReport:
        report = IngestReport(video.id, job.id, video.duration_s, chunks=len(job.chunks))
        report.stages = {s: StageReport() for s in job.stages}
        return report

    def _evidence(self, video: Video) -> EvidenceStore:
        return EvidenceStore(self.db.sessions, video.id, media_dir(self.settings, video.id))

    def _video(self, video_id: int) -> Video:
        with self.db.sessions() as s:
            video = s.get(Video, video_id)
            if video is None:
                raise LookupError(f"no video {video_id}")
            s.expunge(video)
            return video

    # ---- one chunk -----------------------------------------------------------------

    def run_chunk(
        self,
        video: Video,
        chunk: Chunk,
        todo: list[str],
        store: EvidenceStore,
        report: IngestReport,
        progress: Progress | None = None,
    ) -> None:
        """Run ``todo`` stages on one chunk and write each stage's rows (one transaction
        per stage). A stage that fails is recorded with its reason; the others go on."""
        length = chunk.end_s - chunk.start_s
        self._before = {n: report.stages[n].seconds for n in todo}
        groups = [
            (
                self._runnable(
                    video, [s for s in todo if s in VISUAL], chunk, store, report, progress
                ),
                lambda ss: self._visual(video, chunk, ss, report),
            ),
            (
                self._runnable(
                    video, [s for s in todo if s == "asr"], chunk, store, report, progress
                ),
                lambda ss: self._speech(video, chunk, report),
            ),
        ]
        groups = [(names, run) for names, run in groups if names]
        # Speech and pictures are independent: with both to do, speech runs in a thread
        # beside the decode-and-vision pass (both libraries release the GIL), which keeps
        # both cores busy where either alone leaves gaps.
        pending = []
        if len(groups) == 2 and self.cfg.overlap_speech:
            names, run = groups.pop()
            pending.append((names, self._pool().submit(run, names)))
        for names, run in groups:
            try:
                results = run(names)
            except Exception as exc:  # noqa: BLE001 - recorded per stage, the job goes on
                self._fail_all(store, names, chunk, report, exc)
                continue
            for name in names:
                self._write(store, name, chunk, results.get(name, []), report, progress, length)
        for names, future in pending:
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001
                self._fail_all(store, names, chunk, report, exc)
                continue
            for name in names:
                self._write(store, name, chunk, results.get(name, []), report, progress, length)
        for name in (s for s in DERIVED if s in todo):
            if not self._runnable(video, [name], chunk, store, report, progress):
                continue
            t0 = time.perf_counter()
            try:
                evidence = chunk_evidence(self.db.sessions, video.id, chunk.start_s, chunk.end_s)
                records = self.stage(name).process(evidence)
            except Exception as exc:  # noqa: BLE001
                log.exception("%s of chunk %s failed", name, chunk.index)
                self._fail(store, name, chunk, report, exc)
                continue
            report.stages[name].seconds += time.perf_counter() - t0
            self._write(store, name, chunk, records, report, progress, length)

    def _runnable(
        self,
        video: Video,
        names: list[str],
        chunk: Chunk,
        store: EvidenceStore,
        report: IngestReport,
        progress: Progress | None,
    ) -> list[str]:
        """Stages that can run on this video; the others are recorded as skipped."""
        ok = []
        for name in names:
            reason = None
            if name in VISUAL and not video.has_video:
                reason = "audio-only file: no picture"
            elif name == "asr" and not video.has_audio:
                reason = "no audio stream"
            else:
                try:
                    self.stage(name)
                except StageSkipped as exc:
                    reason = str(exc)
            if reason is None:
                ok.append(name)
                continue
            if report.stages[name].skipped_reason is None:
                log.warning("%s skipped: %s", name, reason)
            report.stages[name].skipped_reason = reason
            store.mark(name, chunk.key, "skipped", job_id=report.job_id, error=reason)
            if progress:
                progress(name, chunk.end_s - chunk.start_s)
        return ok

    def _write(
        self,
        store: EvidenceStore,
        name: str,
        chunk: Chunk,
        records: list[Any],
        report: IngestReport,
        progress: Progress | None,
        length: float,
    ) -> None:
        elapsed = report.stages[name].seconds - self._before.get(name, 0.0)
        rows = store.write(name, chunk.key, records, job_id=report.job_id, elapsed_s=elapsed)
        report.stages[name].rows += rows
        report.stages[name].chunks_done += 1
        if progress:
            progress(name, length)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="vidkg-asr")
        return self._executor

    def _fail_all(
        self,
        store: EvidenceStore,
        names: list[str],
        chunk: Chunk,
        report: IngestReport,
        exc: Exception,
    ) -> None:
        log.error("chunk %s: %s failed", chunk.index, ",".join(names), exc_info=exc)
        for name in names:
            self._fail(store, name, chunk, report, exc)

    def _fail(
        self, store: EvidenceStore, name: str, chunk: Chunk, report: IngestReport, exc: Exception
    ) -> None:
        if is_transient(exc) or out_of_time(exc):  # the unit as a whole: retried, or failed
            raise exc
        error = f"{type(exc).__name__}: {exc}"
        store.mark(name, chunk.key, "failed", job_id=report.job_id, error=error)
        report.failures.append(
            {"stage": name, "chunk": chunk.index, "start_s": chunk.start_s, "error": error}
        )

    def _speech(self, video: Video, chunk: Chunk, report: IngestReport) -> dict[str, list]:
        overlap = self.cfg.asr.overlap_s
        a = max(0.0, chunk.start_s - overlap)
        b = min(video.duration_s, chunk.end_s + overlap)
        t0 = time.perf_counter()
        samples = read_audio(video.source_path, a, b)
        report.decode_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        audio = ChunkAudio(a, samples, chunk.start_s, chunk.end_s)
        records = self.stage("asr").process(audio)
        report.stages["asr"].seconds += time.perf_counter() - t0
        return {"asr": records}

    def _visual(
        self, video: Video, chunk: Chunk, names: list[str], report: IngestReport
    ) -> dict[str, list]:
        stages = {n: self.stage(n) for n in names}
        if "scenes" not in stages:
            stages = {"scenes": self.stage("scenes"), **stages}  # spans are made anyway
        return run_visual_pass(video.source_path, chunk, stages, self.cfg, report)
