"""Keyword search ranks a bounded number of chunks: common words give way to rare ones in a large index."""
from __future__ import annotations

import numpy as np

from index.store import ChunkStore
from index.types import Chunk


def store_with(tmp_path, texts: list[str]) -> ChunkStore:
    store = ChunkStore(tmp_path / "chunks.sqlite")
    for n, text in enumerate(texts):
        store.replace_document(f"d{n}.txt", str(n), 1, text, {}, [Chunk(text, 0, len(text))], np.zeros((1, 4), np.float32))
    return store


def sources(store: ChunkStore, hits: list[tuple[int, float]]) -> list[str]:
    return [h.source for h in store.hits([(i, s, s) for i, s in hits])]


def test_a_rare_word_decides_when_a_common_one_matches_too_many_chunks(tmp_path):
    texts = [f"river bank number {n}" for n in range(30)] + ["the river otter lives here"]
    store = store_with(tmp_path, texts)
    # 'river' matches 31 chunks, more than the 10 this search may rank: only 'otter' is ranked.
    hits = store.keyword_search("river otter", 5, max_candidates=10)
    assert sources(store, hits) == ["d30.txt"]
    # Unbounded, 'river' is ranked too, and the otter chunk still comes first.
    unbounded = store.keyword_search("river otter", 5, max_candidates=1000)
    assert sources(store, unbounded)[0] == "d30.txt" and len(unbounded) == 5


def test_when_every_word_is_common_the_chunks_holding_all_of_them_are_ranked(tmp_path):
    texts = [f"river bank number {n}" for n in range(30)] + [f"mountain bank {n}" for n in range(30)] + ["river mountain"]
    store = store_with(tmp_path, texts)
    hits = store.keyword_search("river mountain", 5, max_candidates=10)
    assert sources(store, hits) == ["d60.txt"]


def test_a_misspelt_word_finds_the_word_it_is_a_slip_of(tmp_path):
    texts = ["Mahatma Gandhi called his method satyagraha.", "The salt march began at Sabarmati.",
             "Gandhi's spinning wheel", "A garden of herbs"]
    store = store_with(tmp_path, texts)
    for slip in ("Ghandi", "Gandi", "Gamdhi", "Gnadhi"):  # letters moved, dropped, changed, swapped
        hits = store.keyword_matches(f"What was {slip}'s method called?", 5)
        assert sources(store, hits.ranked)[0] == "d0.txt", slip
        assert "gandhi" in hits.document_frequency  # and the sentence match weighs the word as written in the text
    assert store.keyword_search("Sabarmatti march", 5) and store.respelling("marhc") == "march"
    # A word too far from any indexed one, or too short to tell, finds nothing rather than something unrelated.
    assert store.keyword_search("Ghandiji", 5) == [] and store.keyword_search("salf", 5) == []
    read_only = ChunkStore(tmp_path / "chunks.sqlite", readonly=True, snapshot=True)  # as the service opens it
    assert sorted(sources(read_only, read_only.keyword_search("Ghandi", 5))) == ["d0.txt", "d2.txt"]
