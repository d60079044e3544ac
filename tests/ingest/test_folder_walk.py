"""The folder walk: odd file names are ingested under their own names; links never lead out of the folder."""
from __future__ import annotations

import os

import pytest

from index.directory import IndexDirectory
from ingest.pipeline import IngestPipeline

ODD_NAMES = ["with space.txt", "ünïcødé ✓.md", "-leading-dash.txt", "quote\"s and 'apostrophes'.txt",
             "back\\slash.txt", "%20percent#hash?.txt", "new\nline.txt", "emoji 📄.txt", "sub dir/ünder.html",
             "UPPER.TXT"]


@pytest.fixture()
def ingest(embedder, chunker, tmp_path):
    def run(folder):
        index = IndexDirectory.open_for_writing(tmp_path / "index", embedder.name, embedder.dimension)
        try:
            return IngestPipeline(index, embedder, chunker).run(folder), index.store.manifest()
        finally:
            index.close()
    return run


def test_odd_file_names_are_ingested_under_their_own_names(tmp_path, ingest):
    folder = tmp_path / "docs"
    for number, name in enumerate(ODD_NAMES):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"Document number {number} has an unusual name.", encoding="utf-8")
    undecodable = os.fsencode(folder) + b"/latin-1 caf\xe9.txt"  # not UTF-8: a name from another system
    with open(undecodable, "wb") as f:
        f.write(b"A file whose name is not valid UTF-8.")
    report, manifest = ingest(folder)
    assert sorted(report.added) == sorted(ODD_NAMES) and set(manifest) == set(ODD_NAMES)
    assert report.skipped == [{"path": "latin-1 caf\\xe9.txt", "reason": "file name is not valid UTF-8; rename it"}]


def test_links_inside_are_read_links_outside_are_skipped_and_loops_end(tmp_path, ingest):
    folder, outside = tmp_path / "docs", tmp_path / "private"
    (folder / "inner").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("Private text outside the documents folder.")
    (folder / "inner" / "real.txt").write_text("The real document inside the folder.")
    (folder / "alias.txt").symlink_to(folder / "inner" / "real.txt")
    (folder / "secret-link.txt").symlink_to(outside / "secret.txt")
    (folder / "relative-escape.txt").symlink_to(os.path.join("..", "private", "secret.txt"))
    (folder / "private-dir").symlink_to(outside, target_is_directory=True)
    (folder / "inner" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    (folder / "loop-a.txt").symlink_to(folder / "loop-b.txt")
    (folder / "loop-b.txt").symlink_to(folder / "loop-a.txt")
    report, manifest = ingest(folder)
    skipped = {s["path"]: s["reason"] for s in report.skipped}
    assert set(manifest) == {"alias.txt"}  # the link inside is read; the file it names is the same text
    assert skipped["inner/real.txt"] == "duplicate of alias.txt (the same text)"
    assert skipped["secret-link.txt"] == skipped["relative-escape.txt"] == "symbolic link out of the folder"
    assert skipped["dangling.txt"] == skipped["loop-a.txt"] == "symbolic link to nothing readable (dangling or a loop)"
    assert not any("secret" in text for text in manifest)
