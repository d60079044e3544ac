"""Which sentences of a chunk get a vector of their own, and how they score a chunk."""
from __future__ import annotations

import numpy as np

from index.sentence_vectors import best_sentence_similarity, from_bytes, sentences_to_embed, to_bytes


def test_prose_sentences_are_embedded_whole_and_headings_and_code_are_not():
    text = ("Installing\n\n"
            "The installer copies the files into your home folder and then\n"
            "asks which of the optional parts you want to keep.\n\n"
            "    pip install ragqa --upgrade\n\n"
            "It never changes files outside that folder, whatever you choose.")
    assert sentences_to_embed(text) == [
        "The installer copies the files into your home folder and then\nasks which of the optional parts you want to keep.",
        "It never changes files outside that folder, whatever you choose.",
    ]


def test_a_chunk_without_sentence_vectors_scores_as_its_own_vector():
    query = np.array([1.0, 0.0], dtype=np.float32)
    assert best_sentence_similarity(None, query, 0.3) == 0.3
    assert best_sentence_similarity(np.zeros((0, 2), dtype=np.float32), query, 0.3) == 0.3
    sentences = np.array([[0.6, 0.8], [0.8, 0.6]], dtype=np.float32)
    assert abs(best_sentence_similarity(sentences, query, 0.3) - 0.8) < 1e-6


def test_stored_vectors_come_back_close_enough_to_rank_alike():
    vectors = np.random.default_rng(0).normal(size=(3, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    back = from_bytes(to_bytes(vectors), 384)
    assert back.shape == (3, 384) and np.abs(back - vectors).max() < 1e-3
    assert from_bytes(to_bytes(np.zeros((0, 384))), 384).shape == (0, 384)
