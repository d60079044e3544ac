"""The web page at `/`: plain HTML, CSS and JavaScript from `app/static/`, no build step and no data of its own."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent.parent / "static"  # app/static

page_router = APIRouter(include_in_schema=False)


@page_router.get("/")
@page_router.get("/index.html")
async def page() -> FileResponse:
    """The page: ask a question, watch the answer arrive, check its quote and sources, see the documents."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def install_page(app: FastAPI) -> None:
    app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
