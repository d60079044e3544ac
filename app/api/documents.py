"""Document management over HTTP: list, upload, delete, reindex the documents folder the service answers from.

The documents folder is the one the index mirrors (recorded by the last ingest run), or
`RAGQA_DOCS_DIR` before any run. Uploads are saved there under a sanitised name and ingested at
once with the same pipeline, loaders and limits as `ragqa ingest`; deleting removes the file from
the folder and the document from the index, so a later ingest does not bring it back. Writes run
one at a time, and the service switches to the new index before the request returns.
"""
from __future__ import annotations

import asyncio
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse

from app.schemas import (
    DeleteResponse,
    DocumentInfo,
    DocumentList,
    ErrorResponse,
    ReindexResponse,
    UploadResponse,
    UploadResult,
)
from app.services import ServiceLoader, Services
from core.settings import Settings
from index.atomic import replace_atomically
from index.directory import IndexDirectory
from index.types import Document
from index.vectors import VectorOptions
from ingest.loaders import loader_for, supported_formats
from ingest.pipeline import IngestPipeline

MAX_NAME_CHARS = 200
_UNSAFE = re.compile(r"[^\w.\- ()\[\]+,@]")  # keep letters, digits, and a few harmless marks


def safe_file_name(name: str) -> str:
    """The name an uploaded file is saved under: its last path part, without characters that could hurt.

    Raises ValueError (with the reason) for a name that cannot be made safe: empty, hidden, `..`.
    """
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")  # control and format characters
    base = _UNSAFE.sub("_", base).strip(" ")
    if not base or set(base) <= {".", "_", " "}:
        raise ValueError("the file name is empty once path and control characters are removed")
    if base.startswith("."):
        raise ValueError("hidden file names (starting with '.') are not ingested")
    if len(base) > MAX_NAME_CHARS:
        stem, dot, suffix = base.rpartition(".")
        base = stem[:MAX_NAME_CHARS - len(suffix) - 1] + dot + suffix if dot else base[:MAX_NAME_CHARS]
    return base


def document_info(document: Document) -> DocumentInfo:
    return DocumentInfo(id=document.id, path=document.source, size=document.size, chunks=document.chunk_count,
                        content_hash=document.content_hash, ingested_at=document.ingested_at)


class DocumentsError(Exception):
    """A request the library cannot carry out; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


class DocumentLibrary:
    """The service's write side: changes the documents folder and the index together, one change at a time."""

    def __init__(self, loader: ServiceLoader, settings: Settings) -> None:
        self.loader = loader
        self.settings = settings
        self._lock = asyncio.Lock()  # one writer: uploads, deletes and reindexing never interleave

    def folder(self) -> Path:
        recorded = IndexDirectory.mirrored_folder(self.settings.index_dir)
        folder = Path(recorded) if recorded else self.settings.docs_dir
        if not folder.is_dir():
            raise DocumentsError(409, f"the documents folder {folder} does not exist on the server")
        return folder

    async def write(self, change, *args):
        """Run `change(services, folder, *args)` in a worker thread under the write lock, then serve the result."""
        services = self.loader.require()
        async with self._lock:
            folder = self.folder()
            try:
                result = await to_thread.run_sync(change, services, folder, *args)
            except OSError as exc:  # e.g. a folder mounted read-only
                raise DocumentsError(409, f"cannot change the documents folder {folder}: {exc.strerror or exc}") from None
            finally:
                await to_thread.run_sync(self.loader.refresh_index)  # /ask sees the change from now on
        return result

    def _open_index(self, services: Services) -> tuple[IndexDirectory, IngestPipeline]:
        embedder = services.retriever.embedder
        index = IndexDirectory.open_for_writing(self.settings.index_dir, embedder.name, embedder.dimension,
                                                VectorOptions.from_settings(self.settings))
        return index, IngestPipeline.from_settings(index, embedder, self.settings)

    # --- the changes (run in a worker thread) ---------------------------------------------------
    def upload(self, services: Services, folder: Path, uploads: list[Upload]) -> list[UploadResult]:
        results: dict[str, UploadResult] = {}  # by saved name
        rejected: list[UploadResult] = []
        previous: dict[str, bytes | None] = {}  # what each saved name held before, to restore on failure
        for upload in uploads:
            try:
                name = self._check(upload, folder, previous)
            except ValueError as exc:
                rejected.append(UploadResult(file=upload.name, status="rejected", reason=str(exc)))
                continue
            target = folder / name
            previous[name] = target.read_bytes() if target.exists() else None
            replace_atomically(target, lambda tmp, data=upload.data: tmp.write_bytes(data))
            results[name] = UploadResult(file=upload.name, path=name, status="added")
        if previous:
            index, pipeline = self._open_index(services)
            try:
                report = pipeline.run_files(folder, list(previous))
            finally:
                index.close()
            for name in report.updated:
                results[name].status = "updated"
            for name in report.unchanged:
                results[name].status = "unchanged"
            for skipped in report.skipped:  # unreadable: the folder goes back to what the index holds
                name = skipped["path"]
                self._restore(folder / name, previous[name])
                results[name].status, results[name].reason = "rejected", skipped["reason"]
        return [*results.values(), *rejected]

    def _check(self, upload: Upload, folder: Path, taken: dict) -> str:
        name = safe_file_name(upload.name)
        if loader_for(Path(name)) is None:
            raise ValueError(f"unsupported format {Path(name).suffix or '(none)'}: {supported_formats()} are ingested")
        if name in taken:
            raise ValueError(f"another file of this request is also saved as {name}")
        if len(upload.data) > self.settings.max_file_bytes:
            raise ValueError(f"larger than the limit of {self.settings.max_file_bytes} bytes")
        target = folder / name
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise ValueError(f"{name} exists in the documents folder and is not a regular file")
        return name

    @staticmethod
    def _restore(path: Path, data: bytes | None) -> None:
        if data is None:
            path.unlink(missing_ok=True)
        else:
            replace_atomically(path, lambda tmp: tmp.write_bytes(data))

    def delete(self, services: Services, folder: Path, document_id: int) -> DocumentInfo:
        index, _ = self._open_index(services)
        try:
            document = next((d for d in index.store.documents() if d.id == document_id), None)
            if document is None:
                raise DocumentsError(404, f"no document with id {document_id}; GET /documents lists them")
            path = folder / document.source
            if path.resolve().is_relative_to(folder.resolve()):
                path.unlink(missing_ok=True)  # first: if this fails, the index still matches the folder
            index.remove_document(document.source)
            index.flush({"source_folder": str(folder.resolve())})
        finally:
            index.close()
        return document_info(document)

    def reindex(self, services: Services, folder: Path) -> ReindexResponse:
        index, pipeline = self._open_index(services)
        try:
            report = pipeline.run(folder)
        finally:
            index.close()
        return ReindexResponse(folder=str(folder), **report.to_dict())


# --- routes ---------------------------------------------------------------------------------------
def get_library(request: Request) -> DocumentLibrary:
    state = request.app.state
    if getattr(state, "documents", None) is None:
        state.documents = DocumentLibrary(state.loader, state.settings)
    return state.documents


LibraryDep = Annotated[DocumentLibrary, Depends(get_library)]
documents_router = APIRouter(tags=["documents"], responses={
    404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}, 413: {"model": ErrorResponse},
    503: {"model": ErrorResponse}})


async def _guarded(library: DocumentLibrary, change, *args):
    try:
        return await library.write(change, *args)
    except DocumentsError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@documents_router.get("/documents", response_model=DocumentList)
async def list_documents(library: LibraryDep) -> DocumentList:
    """Every document of the index: path, size, passages, content hash, when it was ingested."""
    store = library.loader.require().index.store
    documents = [document_info(d) for d in await to_thread.run_sync(store.documents)]
    return DocumentList(count=len(documents), chunks=sum(d.chunks for d in documents), documents=documents)


@documents_router.post("/documents", response_model=UploadResponse,
                       responses={207: {"model": UploadResponse}, 422: {"model": UploadResponse | ErrorResponse}})
async def upload_documents(library: LibraryDep, files: Annotated[list[UploadFile], File(description="One or more files.")]):
    """Save the files into the documents folder and ingest them at once (200 all, 207 some, 422 none ingested)."""
    uploads = [Upload(f.filename or "", await f.read()) for f in files]
    results = await _guarded(library, library.upload, uploads)
    documents = len(library.loader.require().index.store.manifest())
    accepted = sum(r.status != "rejected" for r in results)
    status = 200 if accepted == len(results) else 207 if accepted else 422
    return JSONResponse(UploadResponse(results=results, documents=documents).model_dump(), status_code=status)


@documents_router.delete("/documents/{document_id}", response_model=DeleteResponse)
async def delete_document(document_id: int, library: LibraryDep) -> DeleteResponse:
    """Remove a document from the index and its file from the documents folder."""
    return DeleteResponse(deleted=await _guarded(library, library.delete, document_id))


@documents_router.post("/reindex", response_model=ReindexResponse)
async def reindex(library: LibraryDep) -> ReindexResponse:
    """Bring the index in line with the documents folder (as `ragqa ingest`): only changed files cost work."""
    return await _guarded(library, library.reindex)
