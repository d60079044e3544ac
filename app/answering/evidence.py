"""Evidence selection: the sentences of the retrieved chunks that are closest to the question.

A small model answers far better from three or four focused sentences than from whole chunks
(bench/RESULTS.md). Each sentence is returned as a `Hit` whose offsets point into its document,
so quotes and citations keep working on it unchanged.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from app.answering.entries import names_code, opened_entry
from app.answering.shape import asked_term
from app.answering.support import stem
from core.text import sentence_spans, words_of
from index.embedder import Embedder
from index.sentence_match import text_shares
from index.types import Hit

log = logging.getLogger(__name__)
_EMBEDDERS: dict[tuple, Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()
SENTENCE_BATCH = 4  # short texts of unequal length: small batches pad less (measured in bench/RESULTS.md)
# An evidence sentence's rank: cosine + RARE_WORDS × its share of the query's rare words − CHUNK_RANK × its chunk's
# place. Chosen on half A of the dev articles and held on half B (bench/RESULTS.md, session 11): the answer in the
# 4 sentences 0.913 → 0.947 of the questions, in the first 0.68 → 0.77. RARE_WORDS is the hybrid's ONE_SENTENCE.
RARE_WORDS, CHUNK_RANK = 0.5, 0.1
# A reference's entry opening (an API's name, then what it does: "collections.Counter — A Counter is a dict subclass for
# counting hashable objects.") names what does what a how-to question asks, where the sentences further into the
# descriptions only say how it behaves. Over 48 how-to questions on 27 CPython library pages (bench/data/
# howto-library.json) the explanation held the function asked for 0.69 → 0.77 of the time (alike on both halves, a
# plateau over 0.2–0.3); prose without entries (explain-dev, the factoid set) is unchanged.
ENTRY_OPENING = 0.25
# A sentence that defines the term a "What is X?" question asks about: X as its subject ("Generators are a special class
# of functions …") or in quotes ("A thread can be flagged as a “daemon thread”."), where a sentence that only uses the
# term ("It is not a daemon thread.") is as close to the question by the embedder.
DEFINES = 0.25


def sentence_embedder(settings, index_embedder: Embedder) -> Embedder:
    """The embedder that ranks evidence sentences (`RAGQA_EVIDENCE_EMBEDDING_BACKEND`); loaded once per process."""
    backend, model = settings.evidence_embedding_backend, index_embedder.sentence_model
    if backend == "index" or (model == settings.embedding_model and backend == index_embedder.backend):
        return index_embedder
    key = (model, backend, str(settings.cache_dir))
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            try:
                _EMBEDDERS[key] = Embedder(model, SENTENCE_BATCH, backend, settings.cache_dir)
            except ValueError as exc:  # a model the ONNX export cannot reproduce: the ranking is only a speed-up
                log.warning("ranking evidence with the index's embedder: %s", exc)
                return index_embedder
        return _EMBEDDERS[key]


def select_sentences(question: str, hits: Sequence[Hit], embedder: Embedder, count: int,
                     question_vector: np.ndarray | None = None,
                     rare_words: Mapping[str, float] | None = None) -> list[Hit]:
    """The `count` sentences of `hits` most similar to the question, best first; each sentence's
    `similarity` is its own cosine similarity to the question (`question_vector`, if the caller
    already embedded it).

    With `rare_words` (the query's {stem: IDF}, `Retriever.rare_word_weights`) a sentence ranks by its cosine plus
    RARE_WORDS × the share of that weight it holds, less CHUNK_RANK for each place its chunk is below the first of
    `hits` (best first): the sentence that names what was asked, in the passage the search trusts most; plus
    ENTRY_OPENING for an API entry's term and first sentence."""
    sentences = [
        Hit(chunk_id=hit.chunk_id, source=hit.source, text=hit.text[start:end], start=hit.start + start,
            end=hit.start + end, score=hit.score, similarity=hit.similarity, metadata=hit.metadata)
        for hit in hits
        for start, end in sentence_spans(hit.text, join_wrapped_lines=True)
        if _can_hold_an_answer(hit.text[start:end])
    ]
    if not sentences:
        return []
    if question_vector is None:
        question_vector = embedder.embed_queries([question])[0]
    vectors = embedder.embed([s.text for s in sentences])  # (n, d), normalised
    similarity = vectors @ question_vector  # (n,) cosine of each sentence to the question
    ranking = similarity
    if rare_words is not None:
        shares = np.array(text_shares(rare_words, [s.text for s in sentences]))
        place = {hit.chunk_id: n for n, hit in reversed(list(enumerate(hits)))}
        ranking = similarity + RARE_WORDS * shares - CHUNK_RANK * np.array([place[s.chunk_id] for s in sentences])
        ranking = ranking + ENTRY_OPENING * np.array([_opens_an_api_entry(s.text) for s in sentences])
        term = asked_term(question)
        if term is not None:
            ranking = ranking + DEFINES * np.array([defines(term, s.text) for s in sentences])
    best = sorted(range(len(sentences)), key=lambda i: -ranking[i])[:count]
    return [replace(sentences[i], similarity=float(similarity[i])) for i in best]


_QUOTED = re.compile(r"[“\"‘']([^”\"’']{1,80})[”\"’']")
_SUBJECT = re.compile(r"\s*(?:(?:an?|the)\s+)?(?P<subject>[\w\-]+(?:\s+[\w\-]+){0,3}?)\s*(?:\([^)]*\)\s*)?,?\s+"
                      r"(?:is|are|was|were|refers? to|means?)\b", re.IGNORECASE)


def defines(term: str, sentence: str) -> bool:
    """Whether `sentence` defines `term`: the term (its words' stems) is the sentence's subject before "is", "are",
    "refers to" or "means", or stands in quotes in it."""
    wanted = _stems(term)
    subject = _SUBJECT.match(sentence)
    if subject is not None and _stems(subject.group("subject")) == wanted:
        return True
    return any(_stems(quoted) == wanted for quoted in _QUOTED.findall(sentence))


def _stems(text: str) -> list[str]:
    return [stem(w) for w in words_of(text)]


def _opens_an_api_entry(sentence: str) -> bool:
    name = opened_entry(sentence)
    return name is not None and names_code(name)


def _can_hold_an_answer(sentence: str) -> bool:
    """Headings and two-word fragments restate a topic, and a question (an FAQ entry, an example
    command asking one) restates the question: they rank high by similarity but answer nothing."""
    return not sentence.startswith("#") and len(sentence.split()) >= 3 and not is_question(sentence)


def is_question(sentence: str) -> bool:
    """Whether the sentence asks something: it ends with "?", before any closing quote or bracket."""
    return sentence.rstrip().rstrip("\"'`)").endswith("?")


def cited_chunks(evidence: Sequence[Hit], hits: Sequence[Hit]) -> list[Hit]:
    """The chunks the evidence came from, each once, in the order of their best sentence."""
    by_id = {hit.chunk_id: hit for hit in hits}
    order = dict.fromkeys(e.chunk_id for e in evidence)
    return [by_id[chunk_id] for chunk_id in order]
