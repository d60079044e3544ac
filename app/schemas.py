"""Request and response models of the HTTP API (they are also its OpenAPI schema)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

MAX_QUESTION_CHARS = 2000

# Surrounding whitespace is dropped first, so a blank question fails the length check too.
QueryText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Turn(_Request):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str


class AskRequest(_Request):
    question: QueryText = Field(examples=["How do I ingest my own folder?"])
    top_k: int = Field(4, ge=1, le=20, description="How many passages to retrieve and give the model.")
    history: list[Turn] = Field(
        default_factory=list,
        description="The conversation so far, oldest first (the service keeps none). A follow-up that refers back "
                    "to it (\"How tall is it?\") is answered as the question it stands for; see `standalone_question`. "
                    "At most RAGQA_HISTORY_MAX_TURNS messages and RAGQA_HISTORY_MAX_CHARS characters.")
    stream: StrictBool = Field(  # a JSON boolean, as the schema says; not 0/1 or "yes"
        False, description="Send Server-Sent Events: `token` pieces as generated, then `done` with the answer.")
    style: Literal["auto", "short", "explain"] = Field(
        "auto", description="Answer shape: `short` (a phrase of the documents), `explain` (1-4 sentences of the "
        "documents, each with its support), or `auto` (decided from the question's wording).")


class SearchRequest(_Request):
    query: QueryText = Field(examples=["ingest a folder"])
    top_k: int = Field(5, ge=1, le=20)


class Citation(BaseModel):
    """A retrieved passage: `text == document[start:end]` of the document at `source`."""

    source: str = Field(description="Document path relative to the ingested folder.")
    chunk_id: str
    text: str
    score: float = Field(description="Ranking score of the retrieval mode (for hybrid: cosine plus best-sentence keyword "
                               "share); for a passage the search did not return but an explanation quotes (an entry its "
                               "reference lists further on), its cosine similarity.")
    similarity: float = Field(description="Cosine similarity of the passage to the question.")
    start: int
    end: int
    page: int | None = Field(None, description="PDF page of the passage's start, for PDFs.")


class Quote(BaseModel):
    """The sentence of a cited passage that best supports the answer: `document[start:end] == text`."""

    text: str
    source: str
    chunk_id: str
    start: int = Field(description="Offset of the quote in the document (not in the passage).")
    end: int


class Support(BaseModel):
    """A span of a document that carries an answer sentence: `document[start:end] == text`."""

    source: str
    chunk_id: str
    start: int = Field(description="Offset in the document (not in the passage).")
    end: int
    text: str


class Sentence(BaseModel):
    """One sentence of an answer, with the citations it rests on and the verbatim spans that support it."""

    text: str
    citations: list[int] = Field(description="1-based positions in `citations` of the passages holding its support.")
    support: list[Support]


class AskResponse(BaseModel):
    answer: str = Field(description="The answer: a short answer as it is, or the sentences joined, each followed by "
                                    "its `[n]` markers (positions in `citations`).")
    abstained: bool = Field(description="True when the documents do not hold the answer; the model was not trusted.")
    shape: Literal["short", "explain"] = Field("short", description="The shape given: `short` or `explain`.")
    sentences: list[Sentence] = Field(
        default_factory=list, description="The answer's sentences, each with its verbatim support (one sentence for a "
        "short answer, whose support is `quote`); empty when abstaining.")
    quote: Quote | None = Field(None, description="Verbatim support for the answer; null when abstaining.")
    citations: list[Citation]
    standalone_question: str = Field(
        description="The question that was searched and answered: the question as asked, or a follow-up rewritten "
                    "from the history to stand alone.")
    model: str
    timings_ms: dict[str, float]


class SearchResponse(BaseModel):
    hits: list[Citation]


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    detail: str | None = None
    documents: int | None = None
    chunks: int | None = None
    model: str | None = None


class ErrorResponse(BaseModel):
    detail: str | list


class DocumentInfo(BaseModel):
    """A document of the index, as `GET /documents` lists it."""

    id: int = Field(description="Its id for `DELETE /documents/{id}`; a changed document gets a new id when re-ingested.")
    path: str = Field(description="Path relative to the documents folder; the `source` of its citations.")
    size: int = Field(description="Size of the file in bytes.")
    chunks: int = Field(description="Passages it was cut into.")
    content_hash: str = Field(description="SHA-256 of the file's bytes.")
    ingested_at: str = Field(description="When this version was ingested (UTC, ISO 8601).")


class DocumentList(BaseModel):
    count: int
    chunks: int = Field(description="Passages of all documents together.")
    documents: list[DocumentInfo]


class UploadResult(BaseModel):
    """What happened to one uploaded file."""

    file: str = Field(description="The file name as sent.")
    path: str | None = Field(None, description="Where it was saved, relative to the documents folder (the sanitised name).")
    status: str = Field(description="`added`, `updated`, `unchanged`, or `rejected`.")
    reason: str | None = Field(None, description="Why it was rejected.")


class UploadResponse(BaseModel):
    results: list[UploadResult]
    documents: int = Field(description="Documents in the index afterwards.")


class DeleteResponse(BaseModel):
    deleted: DocumentInfo


class ReindexResponse(BaseModel):
    """The ingest report of the documents folder (as `ragqa ingest --json`)."""

    folder: str
    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: int
    skipped: list[dict[str, str]]
    chunks_embedded: int
    seconds: float
