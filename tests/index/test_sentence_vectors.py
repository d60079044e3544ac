"""Which sentences of a chunk get a vector of their own, how they make the chunk's vector, and how they score it."""
from __future__ import annotations

import numpy as np

from index.sentence_vectors import (
    best_sentence_similarity,
    chunk_vector,
    from_bytes,
    pieces_to_embed,
    sentences_to_embed,
    to_bytes,
)

INSTALLING = ("Installing\n\n"
              "The installer copies the files into your home folder and then\n"
              "asks which of the optional parts you want to keep.\n\n"
              "    pip install ragqa --upgrade\n\n"
              "It never changes files outside that folder, whatever you choose.")


def test_prose_sentences_are_embedded_whole_and_headings_and_code_are_not():
    assert sentences_to_embed(INSTALLING) == [
        "The installer copies the files into your home folder and then\nasks which of the optional parts you want to keep.",
        "It never changes files outside that folder, whatever you choose.",
    ]


def test_every_line_of_a_chunk_is_in_one_piece_embedded_for_its_vector():
    sentences, rest = pieces_to_embed(INSTALLING)
    assert sentences == sentences_to_embed(INSTALLING)
    assert rest == "Installing\npip install ragqa --upgrade"  # the heading and the command: one piece
    assert pieces_to_embed("Usage:\n  ragqa serve") == ([], "Usage:\nragqa serve")


def test_a_chunks_vector_leans_to_its_longer_pieces():
    pieces = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    vector = chunk_vector(pieces, [300, 100])  # a long sentence and a short heading
    assert abs(float(np.linalg.norm(vector)) - 1) < 1e-6
    assert vector[0] > vector[1] > 0
    assert np.allclose(vector, np.array([3.0, 1.0]) / np.sqrt(10), atol=1e-6)


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
