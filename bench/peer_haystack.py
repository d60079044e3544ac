"""The peer for `bench.ingest --peer`: a folder through Haystack 2's converters, 200-word splitter and
sentence-transformers embedder (torch, the same all-MiniLM-L6-v2), into its in-memory document store.

Optional benchmark dependencies, never needed by the service: `pip install -r requirements-bench.txt`.
"""
from __future__ import annotations

import time
from pathlib import Path

# Haystack's converter for each of the file types ragqa reads.
PEER_MIME_TYPES = {".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".md": "text/markdown",
                   ".markdown": "text/markdown", ".pdf": "application/pdf"}


def available() -> bool:
    try:
        import haystack  # noqa: F401
        import haystack_integrations.components.embedders.sentence_transformers  # noqa: F401
        import trafilatura  # noqa: F401
    except ImportError:
        return False
    return True


def peer_files(folder: Path) -> list[Path]:
    """The files ragqa would read: supported suffixes, hidden entries left out, sorted."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in PEER_MIME_TYPES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def haystack_ingest(folder: Path, model_dir: Path, batch_size: int = 32) -> dict:
    """Convert, split into 200-word documents and embed every supported file of `folder`; the run's figures.

    The model is loaded before the clock starts (as ragqa's is): the time is converting, splitting,
    embedding and writing.
    """
    from haystack import Pipeline
    from haystack.components.converters import HTMLToDocument, PyPDFToDocument, TextFileToDocument
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.preprocessors import DocumentSplitter
    from haystack.components.routers import FileTypeRouter
    from haystack.components.writers import DocumentWriter
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.embedders.sentence_transformers import SentenceTransformersDocumentEmbedder

    files = peer_files(folder)
    store = InMemoryDocumentStore()
    pipeline = Pipeline()
    pipeline.add_component("router", FileTypeRouter(mime_types=sorted(set(PEER_MIME_TYPES.values())),
                                                    additional_mimetypes={"text/markdown": ".md"}))
    converters = {"text/html": HTMLToDocument(), "text/plain": TextFileToDocument(),
                  "text/markdown": TextFileToDocument(), "application/pdf": PyPDFToDocument()}
    pipeline.add_component("join", DocumentJoiner())
    for n, (mime, converter) in enumerate(converters.items()):
        pipeline.add_component(f"convert{n}", converter)
        pipeline.connect(f"router.{mime}", f"convert{n}")
        pipeline.connect(f"convert{n}", "join")
    pipeline.add_component("split", DocumentSplitter(split_by="word", split_length=200, split_overlap=0))
    pipeline.add_component("embed", SentenceTransformersDocumentEmbedder(
        model=str(model_dir), batch_size=batch_size, progress_bar=False, normalize_embeddings=True,
        local_files_only=True))
    pipeline.add_component("write", DocumentWriter(store))
    pipeline.connect("join", "split")
    pipeline.connect("split", "embed")
    pipeline.connect("embed", "write")
    pipeline.warm_up()
    started = time.perf_counter()
    outputs = pipeline.run({"router": {"sources": files}}, include_outputs_from={"join"})
    seconds = time.perf_counter() - started
    converted = outputs["join"]["documents"]
    return {"system": "Haystack", "files": len(converted), "skipped": len(files) - len(converted),
            "chunks": store.count_documents(), "characters": sum(len(d.content or "") for d in converted),
            "seconds": seconds}
