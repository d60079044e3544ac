"""The FastAPI application: create_app, its lifespan (load once, in the background), and error mapping."""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from app.answering.followup import HistoryTooLongError
from app.api.auth import AccessControl, parse_api_keys
from app.api.body_limit import BodySizeLimit
from app.api.documents import documents_router
from app.api.metrics import install_metrics, metrics_router
from app.api.openai import openai_router
from app.api.page import install_page
from app.api.request_log import RequestLog
from app.api.routes import health_router, qa_router
from app.generation.queue import OverloadedError
from app.generation.remote import GeneratorUnavailableError
from app.services import NotReadyError, ServiceLoader
from core.environment import use_offline_models
from core.logs import configure_json_logging
from core.settings import Settings, get_settings

log = logging.getLogger("ragqa")


def create_app(settings: Settings | None = None, ingest_finished: threading.Event | None = None) -> FastAPI:
    """The service. `ingest_finished`: set when a start-up ingest run ends (`ragqa serve`); the models load
    meanwhile and the index is opened after it."""
    use_offline_models()
    settings = settings or get_settings()
    api_keys = parse_api_keys(settings.api_keys.get_secret_value())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_json_logging()
        _log_access_mode(api_keys, settings)
        loader = ServiceLoader(settings, ingest_finished=ingest_finished)
        app.state.loader = loader
        loader.start()
        yield
        loader.stop()

    app = FastAPI(
        title="ragqa",
        version="0.1.0",
        summary="Answers questions from a folder of documents and shows where each answer came from.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Outermost last: the request log sees every answer (401, 413 too); CORS preflights pass before auth.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       larger={"/documents": settings.max_upload_bytes})  # uploads are files, not questions
    app.add_middleware(AccessControl, keys=api_keys, allow_open=settings.allow_open)
    if origins := [o.strip() for o in settings.cors_origins.split(",") if o.strip()]:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"], expose_headers=["X-Request-ID", "Retry-After"])
    app.add_middleware(RequestLog, log_questions=settings.log_questions, max_body_bytes=settings.max_body_bytes)
    install_metrics(app)  # outermost: counts every answer, 401 and 413 too
    app.include_router(health_router)
    app.include_router(qa_router)
    app.include_router(documents_router)
    app.include_router(metrics_router)
    app.include_router(openai_router)
    install_page(app)

    @app.exception_handler(NotReadyError)
    async def not_ready(request: Request, exc: NotReadyError) -> JSONResponse:
        # Retrying helps while loading or waiting for an index, not after a failure that needs a fix.
        headers = {} if request.app.state.loader.failed else {"Retry-After": "5"}
        return JSONResponse({"detail": str(exc)}, status_code=503, headers=headers)

    @app.exception_handler(OverloadedError)
    async def overloaded(_: Request, exc: OverloadedError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(GeneratorUnavailableError)
    async def generator_unavailable(_: Request, exc: GeneratorUnavailableError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(HistoryTooLongError)
    async def history_too_long(_: Request, exc: HistoryTooLongError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "message": str(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # pydantic's own detail, minus the echoed input (it can be large, and is the user's own data)
        errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
        message = "; ".join(f"{'.'.join(map(str, e['loc'][1:])) or 'body'}: {e['msg']}" for e in errors)
        return JSONResponse({"detail": errors, "message": message}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:
            # A body the framework could not parse (bytes that are not UTF-8 JSON, broken multipart): the
            # same answer as any other invalid body.
            message = f"body: {exc.detail}" if exc.detail != "There was an error parsing the body" else \
                "body: not valid JSON (the body must be UTF-8 JSON text)"
            return JSONResponse({"detail": message, "message": message}, status_code=422)
        if exc.status_code == 405:  # Starlette's Allow names only the first route of the path: name them all
            allowed = {method for route in request.app.router.routes if isinstance(route, Route)
                       and route.matches(request.scope)[0] != Match.NONE for method in route.methods or ()}
            return JSONResponse({"detail": exc.detail}, status_code=405, headers={"Allow": ", ".join(sorted(allowed))})
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse({"detail": "internal error; the server log has the details"}, status_code=500)

    return app


def _log_access_mode(api_keys: list[str], settings: Settings) -> None:
    if api_keys:
        log.info("API keys required (%d configured); open routes: /healthz, /readyz and the web page", len(api_keys))
    elif settings.allow_open:
        log.warning("no API keys (RAGQA_API_KEYS) and RAGQA_ALLOW_OPEN=true: anyone who can reach this port can use it")
    else:
        log.info("no API keys (RAGQA_API_KEYS): answering clients on this machine only; "
                 "serve on 127.0.0.1 (the default), or set keys to open it to a network")


app = create_app()
