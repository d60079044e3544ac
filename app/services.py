"""Loads what the service needs (embedder, generator, index) once, in the background, and says how far it got.

After that it keeps the index fresh: `refresh_index()` reopens the index when its generation changed
and swaps it in atomically, and a background poll calls it whenever an ingest run finishes. Each
opened index is a consistent snapshot (one SQLite read transaction, vectors reconciled with it);
requests already running finish on the snapshot they started with, which is closed when they let go.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from app.answering.answerer import Answerer
from app.generation.base import Generator
from app.generation.queue import GenerationQueue
from core.priority import lower_this_thread
from core.settings import Settings
from index.directory import IndexDirectory
from index.embedder import Embedder
from index.errors import IndexMismatchError, IndexNotFoundError
from index.retrieval import Retriever
from index.vectors import VectorOptions

log = logging.getLogger(__name__)


class NotReadyError(Exception):
    """The service is still loading, or waiting for an index; the message says which."""


@dataclass(frozen=True)
class Services:
    """One consistent view: an index snapshot, its retriever, and an answerer over that same retriever.

    A reload builds a new `Services` (never changes one in place), so `/search` and `/ask` of a request
    always read the same snapshot. The generator and its queue are shared by every view.
    """

    index: IndexDirectory
    retriever: Retriever
    answerer: Answerer
    generation: int  # the store generation the snapshot shows

    @property
    def generator(self) -> Generator:
        return self.answerer.generator

    @property
    def queue(self) -> GenerationQueue:
        return self.answerer.queue


WARM_UP_QUESTION = "What is this document about?"
WARM_UP_TOKENS = 4


def warm_up(answerer: Answerer) -> None:
    """One short answer before ready: pages in the model weights, starts the thread pools and fills the
    prompt-prefix cache (unless loaded from the model's saved one), so the first question is answered as
    fast as later ones (bench.serve measures it). A failure (a remote generator not up yet) costs only that speed."""
    from app.answering.prompt import build_messages

    started = time.perf_counter()
    try:
        passages, _ = answerer.evidence(WARM_UP_QUESTION, 2)  # the embedder and the index, paged in
        # The generator over one passage, for a few tokens: the prompt's shared prefix comes from the prefix cache
        # (saved by app.prepare, else learnt here); the passage and the tokens after the first run the code a question
        # runs (a first token alone left it to the first question: 1.76x the same question asked again, on a slow disk).
        answerer.generator.generate(build_messages(WARM_UP_QUESTION, passages[:1]), WARM_UP_TOKENS)
    except Exception as exc:  # noqa: BLE001 - the service answers without it, only slower the first time
        log.warning("warm-up failed (%s); the first question will be slower", exc)
        return
    log.info("models warmed up in %.1f s", time.perf_counter() - started)


class ServiceLoader:
    """Loads services on a background thread so the server answers /healthz and /readyz meanwhile."""

    def __init__(self, settings: Settings, index_poll_seconds: float = 1.0,
                 ingest_finished: threading.Event | None = None) -> None:
        self.settings = settings
        self.index_poll_seconds = index_poll_seconds
        # Set by `ragqa serve` when its start-up ingest run ends: the models load meanwhile, the index after it.
        self.ingest_finished = ingest_finished
        self._refresh_lock = threading.Lock()
        self.services: Services | None = None
        self.status = "loading"
        self.detail = "loading the embedding model and the generator"
        self.failed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._load, name="ragqa-loader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the loading thread still runs: loading the models (torch, ONNX Runtime), warming them up, or
        watching the index. Ending the interpreter while it is inside torch aborts the process."""
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self.services is not None:
            self.services.index.close()

    def require(self) -> Services:
        if self.services is None:
            raise NotReadyError(f"not ready: {self.detail}")
        return self.services

    def _load(self) -> None:
        try:
            from app.generation.factory import generator_from_settings

            started = time.perf_counter()
            if not self.settings.generator_url and self.settings.model_precision == "int8":
                from app.generation.model_files import prefetch_int8

                prefetch_int8(self.settings.model, self.settings.cache_dir)  # disk reads overlap the imports below
            lower_this_thread(self.settings.worker_nice)  # loading, and the thread pools it starts, yield to requests
            if self.settings.generator_url:  # a shared OpenAI-compatible engine generates; no local model
                embedder = Embedder.from_settings(self.settings)
                self.detail = f"asking {self.settings.generator_url} for its model"
                generator = generator_from_settings(self.settings)
            else:  # both models at once: each load leaves a core idle part of the time
                # transformers' lazy module is not safe to import from two threads at once: import it first.
                from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: F401

                with ThreadPoolExecutor(1, thread_name_prefix="ragqa-load-embedder", initializer=lower_this_thread,
                                        initargs=(self.settings.worker_nice,)) as pool:
                    loading_embedder = pool.submit(Embedder.from_settings, self.settings)
                    generator = generator_from_settings(self.settings)
                    embedder = loading_embedder.result()
            log.info("models loaded in %.1f s", time.perf_counter() - started)
            if not self.serve_with(embedder, generator):
                return
        except Exception as exc:  # surfaced on /readyz instead of killing the server silently
            log.exception("loading failed")
            self.status, self.detail, self.failed = "error", self._public(f"loading failed: {exc}"), True
            return
        self._watch_index()

    def serve_with(self, embedder: Embedder, generator: Generator) -> bool:
        """Wait for the start-up ingest and the index, then serve it with these loaded models. False if stopped
        or the index is refused."""
        if not self._wait_for_ingest():
            return False
        index = self._wait_for_index(embedder.name)
        if index is None:
            return False
        retriever = Retriever.from_settings(index, embedder, self.settings)
        answerer = Answerer(retriever, generator, self.settings)
        self.detail = "warming up the models"
        warm_up(answerer)
        self.services = Services(index, retriever, answerer, index.store.generation)
        self.status, self.detail = "ready", None
        log.info("ready: %d chunks from %s, model %s", len(index.vectors), index.path, generator.name)
        return True

    def refresh_index(self) -> bool:
        """Reopen the index if its committed generation changed, and swap it in. True if it swapped.

        Thread-safe. Requests that already hold the old snapshot finish on it; new requests get the
        new one. Raises `IndexStoreError` if the index can no longer be opened (the old one stays).
        """
        with self._refresh_lock:
            current = self.services
            if current is None:
                return False
            path = self.settings.index_dir
            if IndexDirectory.committed_generation(path) == current.generation:
                return False
            index = self._open_index(current.retriever.embedder.name)
            retriever = Retriever.from_settings(index, current.retriever.embedder, self.settings)
            # A new view, swapped in by one reference assignment: requests holding the old one finish on it.
            self.services = Services(index, retriever, current.answerer.over(retriever), index.store.generation)
            log.info("index reloaded: generation %d -> %d, %d chunks", current.generation,
                     index.store.generation, len(index.vectors))
            return True

    def _open_index(self, embedding_model: str) -> IndexDirectory:
        return IndexDirectory.open(self.settings.index_dir, embedding_model, snapshot=True,
                                   vectors=VectorOptions.from_settings(self.settings))

    def _public(self, detail: str) -> str:
        """A status detail fit for HTTP: the server's own folders named by their setting, not their path."""
        folders = {self.settings.index_dir: "RAGQA_INDEX_DIR", self.settings.cache_dir: "RAGQA_CACHE_DIR",
                   Path.home(): "~"}
        for folder, name in folders.items():
            for spelling in sorted({str(folder.resolve()), str(folder)} - {"/", "."}, key=len, reverse=True):
                detail = detail.replace(spelling, name)
        return detail

    def _watch_index(self) -> None:
        """Poll the generation the last finished ingest run recorded; reload when it moves."""
        interval = self.settings.index_reload_seconds
        if not interval:
            return
        seen: object = None  # first poll: catch a run that finished while the index was being opened
        while not self._stop.wait(interval):
            finished = IndexDirectory.finished_generation(self.settings.index_dir)
            if finished == seen:
                continue
            try:
                self.refresh_index()
                seen = finished
            except Exception:  # keep serving the snapshot we have; try again at the next poll
                log.exception("reloading the index failed; still serving generation %s",
                              self.services.generation if self.services else None)

    def _wait_for_ingest(self) -> bool:
        """Ready means the index mirrors the folder as it was at start: wait for that run. False if stopped."""
        if self.ingest_finished is None:
            return True
        self.status, self.detail = "waiting", "ingesting the document folder"
        while not self.ingest_finished.wait(0.1):
            if self._stop.is_set():
                return False
        return True

    def _wait_for_index(self, embedding_model: str) -> IndexDirectory | None:
        """An index may not exist yet (service started before ingest): wait for it, saying so."""
        while not self._stop.is_set():
            try:
                return self._open_index(embedding_model)
            except IndexNotFoundError as exc:
                self.status, self.detail = "waiting", self._public(str(exc))
            except IndexMismatchError as exc:
                self.status, self.detail, self.failed = "error", self._public(str(exc)), True
                return None
            self._stop.wait(self.index_poll_seconds)
        return None
