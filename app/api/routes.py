"""HTTP routes, one router per concern: health, and questions (ask, search). Thin: the work is elsewhere."""
from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from app.answering.citations import citation
from app.api.streaming import stream_answer
from app.schemas import AskRequest, AskResponse, ErrorResponse, Health, Readiness, SearchRequest, SearchResponse
from app.services import ServiceLoader, Services
from core.priority import at_low_priority


def get_services(request: Request) -> Services:
    loader: ServiceLoader = request.app.state.loader
    return loader.require()


ServicesDep = Annotated[Services, Depends(get_services)]
_ERRORS = {413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}}

health_router = APIRouter(tags=["health"])
qa_router = APIRouter(tags=["questions"], responses=_ERRORS)


@health_router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers HTTP."""
    return Health(status="ok")


@health_router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request):
    """Readiness: 200 once the index and the models are loaded, 503 with the reason before."""
    loader: ServiceLoader = request.app.state.loader
    if loader.services is None:
        body = Readiness(status=loader.status, detail=loader.detail)
        return JSONResponse(body.model_dump(exclude_none=True), status_code=503)
    index = loader.services.index
    return Readiness(status="ready", documents=len(index.store.manifest()), chunks=len(index.vectors),
                     model=loader.services.generator.name)


_STREAM = {200: {"content": {"text/event-stream": {"description": "With `stream: true`: `token` events, then `done`."}}}}


@qa_router.post("/ask", response_model=AskResponse, responses=_STREAM)
async def ask(body: AskRequest, services: ServicesDep):
    """Answer a question from the documents, citing the passages given to the model (streamed with `stream: true`)."""
    if body.stream:
        return await stream_answer(lambda on_text: services.answerer.ask(body.question, body.top_k, on_text,
                                                                         history=body.history, style=body.style))
    return await services.answerer.ask(body.question, body.top_k, history=body.history, style=body.style)


@qa_router.post("/search", response_model=SearchResponse)
async def search(body: SearchRequest, services: ServicesDep, request: Request) -> SearchResponse:
    """The passages that best match a query, without the language model."""
    nice = request.app.state.settings.worker_nice
    hits = await to_thread.run_sync(at_low_priority, nice, services.retriever.search, body.query, body.top_k)
    return SearchResponse(hits=[citation(h) for h in hits])
