"""Duplicate documents: one copy is indexed, the others are reported as skipped with the kept copy's name."""
from __future__ import annotations

import pytest

from index.directory import IndexDirectory
from ingest.duplicates import DuplicateIndex, fingerprint
from ingest.pipeline import IngestPipeline

PARAGRAPHS = [
    "The tidewater module reads harbour gauges and predicts the height of the next high tide. It keeps a "
    "rolling window of readings for each gauge and fits the twelve main tidal constituents to it.",
    "Call open_gauge with the station code to start reading a gauge. The call returns a Gauge object whose "
    "readings attribute holds the measurements of the last thirty days, oldest first, in centimetres.",
    "A gauge that reports no value for six hours is marked stale, and predictions for its harbour fall back "
    "to the nearest neighbouring station until fresh readings arrive again from the harbour master.",
    "Predictions are published every fifteen minutes. Each one carries the expected height, the time of "
    "the peak and a confidence band that widens with the number of hours since the last reading was taken.",
    "Storm surge is not modelled: during a declared storm warning the module adds the surge forecast of the "
    "weather service to its own prediction and labels the result as combined in every published table.",
]
SIDEBAR = ("<div class='sphinxsidebar' role='navigation'><h3>Table of contents</h3><ul><li>Index</li><li>Modules</li>"
           "<li>Previous topic: Harbour charts</li><li>Next topic: Mooring rules</li><li>Report a bug</li></ul></div>")
FOOTER = "<div class='footer'>© Copyright 2026, the Harbour Office. Created using Sphinx. Last updated on May 3.</div>"


def html_page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><title>{title}</title></head><body><nav>Home | Docs | Search</nav>{SIDEBAR}"
            f"<div role='main'><h1>{title}</h1>{body}</div>{FOOTER}</body></html>")


def rest_source(title: str, paragraphs: list[str]) -> str:
    """The reST the page was built from: the same prose, with markup around it."""
    marked = [p.replace("open_gauge", ":func:`open_gauge`").replace("Gauge object", ":class:`Gauge` object")
              for p in paragraphs]
    return f"{title}\n{'=' * len(title)}\n\n.. module:: tidewater\n   :synopsis: Tide predictions.\n\n" + "\n\n".join(marked)


OTHER = ("The lighthouse at Varnholm was built in 1872 by the engineer Ada Brook. It stands 41 metres tall on the "
         "northern cliff, and its lamp was converted to electricity in 1931, when the keeper's cottage became a museum.")


@pytest.fixture()
def ingest(embedder, chunker, tmp_path):
    def run(folder, duplicate_similarity=0.5):
        index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
        try:
            report = IngestPipeline(index, embedder, chunker, duplicate_similarity=duplicate_similarity).run(folder)
            return report, index.store.manifest()
        finally:
            index.close()
    return run


@pytest.fixture()
def docs(tmp_path):
    folder = tmp_path / "docs"
    (folder / "_sources").mkdir(parents=True)
    (folder / "tidewater.html").write_text(html_page("tidewater: tide predictions", PARAGRAPHS))
    (folder / "_sources" / "tidewater.rst.txt").write_text(rest_source("tidewater: tide predictions", PARAGRAPHS))
    (folder / "lighthouse.txt").write_text(OTHER)
    return folder


def skipped_of(report) -> dict[str, dict]:
    return {s["path"]: s for s in report.skipped}


def test_a_page_and_its_source_are_indexed_once_naming_the_kept_copy(docs, ingest):
    report, manifest = ingest(docs)
    assert set(manifest) == {"tidewater.html", "lighthouse.txt"}  # the rendered page, not its source
    skipped = skipped_of(report)["_sources/tidewater.rst.txt"]
    assert skipped["duplicate_of"] == "tidewater.html"
    assert skipped["reason"].startswith("near duplicate of tidewater.html (")
    assert "1 duplicates" in report.summary()

    again, _ = ingest(docs)  # nothing new: nothing embedded, the source is reported again
    assert again.chunks_embedded == 0 and skipped_of(again)["_sources/tidewater.rst.txt"]["duplicate_of"] == "tidewater.html"


def test_an_exact_copy_is_skipped_and_indexed_once_its_original_is_gone(docs, ingest):
    ingest(docs)
    (docs / "copies").mkdir()
    (docs / "copies" / "lighthouse copy.txt").write_text(OTHER.upper().replace(". ", ".\n\n"))  # same words
    report, manifest = ingest(docs)
    assert skipped_of(report)["copies/lighthouse copy.txt"]["reason"] == "duplicate of lighthouse.txt (the same text)"
    assert report.added == [] and "copies/lighthouse copy.txt" not in manifest

    (docs / "lighthouse.txt").unlink()
    (docs / "tidewater.html").unlink()
    report, manifest = ingest(docs)  # the kept copies are gone: the others take their place
    assert sorted(report.added) == ["_sources/tidewater.rst.txt", "copies/lighthouse copy.txt"]
    assert sorted(report.removed) == ["lighthouse.txt", "tidewater.html"]
    assert set(manifest) == {"_sources/tidewater.rst.txt", "copies/lighthouse copy.txt"}


def test_an_indexed_document_is_updated_even_when_it_now_repeats_another(docs, ingest):
    ingest(docs)
    (docs / "lighthouse.txt").write_text("\n\n".join(PARAGRAPHS))  # now the same text as tidewater.html
    report, manifest = ingest(docs)
    assert report.updated == ["lighthouse.txt"]  # its old text must not linger in the index
    assert set(manifest) == {"tidewater.html", "lighthouse.txt"}


def test_different_pages_of_one_site_are_not_duplicates(tmp_path, ingest):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "tides.html").write_text(html_page("Tides", PARAGRAPHS[:3]))
    (folder / "storms.html").write_text(html_page("Storms", PARAGRAPHS[3:]))  # same chrome, other prose
    report, manifest = ingest(folder)
    assert set(manifest) == {"tides.html", "storms.html"} and report.skipped == []


def test_duplicates_can_be_kept(docs, ingest):
    report, manifest = ingest(docs, duplicate_similarity=None)  # RAGQA_SKIP_DUPLICATES=false
    assert len(manifest) == 3 and report.skipped == []


def test_similarity_ignores_case_spacing_and_markup_but_not_content():
    page = fingerprint(" ".join(PARAGRAPHS))
    assert page.similarity(fingerprint(" ".join(PARAGRAPHS).upper().replace(" ", "\n "))) == 1.0
    assert 0.5 <= page.similarity(fingerprint(rest_source("tidewater", PARAGRAPHS))) < 1.0
    assert page.similarity(fingerprint(" ".join(PARAGRAPHS[:2] + [OTHER]))) < 0.5
    assert page.similarity(fingerprint(OTHER)) < 0.05
    kept = DuplicateIndex(0.5)
    kept.add("page.html", "hash-1", page)
    assert kept.match(fingerprint(rest_source("tidewater", PARAGRAPHS))).source == "page.html"
    assert kept.match(fingerprint(OTHER)) is None
    assert kept.same_bytes("hash-1").exact and kept.same_bytes("hash-2") is None
    with pytest.raises(ValueError):
        DuplicateIndex(0)
