"""Managing documents over HTTP on a real `ragqa serve`: upload, ask, delete, reindex, restart; /metrics; `ragqa ask --url`."""
from __future__ import annotations

import json
import os
import re
import subprocess
from contextlib import ExitStack

import pytest

from bench.server_process import running_server
from tests.conftest import DOCUMENTS, ragqa_command, write_documents

pytestmark = pytest.mark.slow

KEY = "ux-test-key"
FESTIVAL = "The Zorblax festival is held every March in Quillton. It celebrates purple turnips with a parade."
FESTIVAL_QUESTION = "When is the Zorblax festival held?"


class Library:
    """A `ragqa serve` over a folder of its own, with an API key; `restart()` stops it and serves again."""

    def __init__(self, tmp_path) -> None:
        self.docs = write_documents(tmp_path / "docs")
        self.env = {"RAGQA_DOCS_DIR": str(self.docs), "RAGQA_INDEX_DIR": str(tmp_path / "index"),
                    "RAGQA_MODEL": "smollm2-135m", "RAGQA_API_KEYS": KEY,
                    "RAGQA_MAX_FILE_BYTES": "4000", "RAGQA_MAX_UPLOAD_BYTES": "100000"}
        self.log = tmp_path / "server.log"
        self.stack = ExitStack()
        self.start()

    def start(self) -> None:
        self.client = self.stack.enter_context(
            running_server(self.env, self.log, command=[*ragqa_command(), "serve"])).client
        self.client.headers["Authorization"] = f"Bearer {KEY}"

    def restart(self) -> None:
        self.stack.close()
        self.start()

    def documents(self) -> dict[str, dict]:
        response = self.client.get("/documents")
        assert response.status_code == 200, response.text
        return {d["path"]: d for d in response.json()["documents"]}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    library = Library(tmp_path_factory.mktemp("documents"))
    yield library
    library.stack.close()


def test_documents_lists_what_ragqa_serve_ingested(library):
    body = library.client.get("/documents").json()
    assert body["count"] == 3 and set(library.documents()) == set(DOCUMENTS)
    lighthouse = library.documents()["lighthouse.txt"]
    assert lighthouse["size"] == len(DOCUMENTS["lighthouse.txt"].encode()) and lighthouse["chunks"] >= 1
    assert re.fullmatch(r"[0-9a-f]{64}", lighthouse["content_hash"]) and lighthouse["ingested_at"].startswith("20")
    assert body["chunks"] == sum(d["chunks"] for d in body["documents"])
    assert library.client.get("/documents", headers={"Authorization": ""}).status_code == 401


def test_upload_is_answered_at_once_and_bad_files_are_refused_with_reasons(library):
    files = [
        ("files", ("../../escape/zorblax.txt", FESTIVAL.encode(), "text/plain")),
        ("files", ("broken.txt", b"\x00\x01binary\x00", "text/plain")),
        ("files", ("photo.exe", b"MZ", "application/octet-stream")),
        ("files", (".secret.md", b"# hidden", "text/markdown")),
    ]
    response = library.client.post("/documents", files=files)
    assert response.status_code == 207, response.text
    results = {r["file"]: r for r in response.json()["results"]}
    assert results["../../escape/zorblax.txt"] == {"file": "../../escape/zorblax.txt", "path": "zorblax.txt",
                                                  "status": "added", "reason": None}
    assert results["broken.txt"]["status"] == "rejected" and "binary" in results["broken.txt"]["reason"]
    assert "unsupported format .exe" in results["photo.exe"]["reason"]
    assert "hidden" in results[".secret.md"]["reason"]
    # Saved under its sanitised name inside the folder; nothing refused is left there.
    assert (library.docs / "zorblax.txt").read_text() == FESTIVAL
    assert sorted(p.name for p in library.docs.iterdir()) == ["baking", "club.html", "lighthouse.txt", "zorblax.txt"]
    assert not (library.docs.parent / "escape").exists()

    answer = library.client.post("/ask", json={"question": FESTIVAL_QUESTION}).json()
    assert answer["abstained"] is False and answer["citations"][0]["source"] == "zorblax.txt"

    again = library.client.post("/documents", files=[("files", ("zorblax.txt", FESTIVAL.encode(), "text/plain"))])
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "unchanged"
    none = library.client.post("/documents", files=[("files", ("notes.docx", b"PK", "application/zip"))])
    assert none.status_code == 422 and none.json()["results"][0]["status"] == "rejected"


def test_a_replacement_that_cannot_be_read_keeps_the_old_version(library):
    response = library.client.post("/documents", files=[("files", ("lighthouse.txt", b"\xff\xfe\x00\x00\xff", "text/plain"))])
    assert response.status_code == 422
    assert (library.docs / "lighthouse.txt").read_text() == DOCUMENTS["lighthouse.txt"]  # the file is restored
    hits = library.client.post("/search", json={"query": "lighthouse Varnholm height", "top_k": 1}).json()["hits"]
    assert hits[0]["source"] == "lighthouse.txt" and "41 metres" in hits[0]["text"]


def test_size_limits_per_file_and_per_upload(library):
    large = library.client.post("/documents", files=[("files", ("large.txt", b"word " * 1000, "text/plain"))])
    assert large.status_code == 422 and "larger than the limit of 4000 bytes" in large.json()["results"][0]["reason"]
    too_big = library.client.post("/documents", files=[("files", (f"part{n}.txt", b"word " * 790, "text/plain"))
                                                         for n in range(30)])
    assert too_big.status_code == 413 and "larger than 100000 bytes" in too_big.json()["detail"]
    assert not (library.docs / "large.txt").exists() and not (library.docs / "part0.txt").exists()


def test_delete_removes_the_document_and_its_file(library):
    festival = library.documents()["zorblax.txt"]
    response = library.client.delete(f"/documents/{festival['id']}")
    assert response.status_code == 200 and response.json()["deleted"]["path"] == "zorblax.txt"
    assert not (library.docs / "zorblax.txt").exists() and "zorblax.txt" not in library.documents()
    answer = library.client.post("/ask", json={"question": FESTIVAL_QUESTION}).json()
    assert answer["abstained"] is True
    missing = library.client.delete(f"/documents/{festival['id']}")
    assert missing.status_code == 404 and "GET /documents" in missing.json()["detail"]
    assert library.client.delete("/documents/not-a-number").status_code == 422


def test_reindex_ingests_what_changed_in_the_folder(library):
    write_documents(library.docs, {"garden.md": "# Garden\n\nThe rose garden behind the museum has 212 varieties of roses."})
    (library.docs / "club.html").unlink()
    response = library.client.post("/reindex")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["added"] == ["garden.md"] and report["removed"] == ["club.html"] and report["unchanged"] == 2
    assert set(library.documents()) == {"garden.md", "lighthouse.txt", "baking/bread.md"}


def _ask_url(library, *args, key: str | None = KEY) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAGQA_API_KEY"}
    if key:
        env["RAGQA_API_KEY"] = key
    return subprocess.run([*ragqa_command(), "ask", "--url", str(library.client.base_url), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_ragqa_ask_url_asks_the_server_with_its_key(library):
    result = _ask_url(library, "How many varieties of roses does the rose garden have?")
    assert result.returncode == 0, result.stderr
    assert "\n\nSources:\n  [1] garden.md" in result.stdout
    abstained = _ask_url(library, "What is the orbital period of Neptune's moon Triton?", "--json")
    assert abstained.returncode == 3 and json.loads(abstained.stdout)["abstained"] is True
    no_key = _ask_url(library, "How tall is the lighthouse?", key=None)
    assert no_key.returncode == 2 and "API key" in no_key.stderr


def test_changes_survive_a_restart(library):
    before = library.documents()
    library.restart()  # `ragqa serve` ingests the folder again first: nothing deleted comes back
    assert library.documents() == before
    assert "zorblax.txt" not in before and "garden.md" in before
